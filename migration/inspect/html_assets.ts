/**
 * The style and script of the `inspect --html` page, kept apart from the data plumbing. The
 * script draws from the embedded JSON: the stream bar, a squarified treemap of sections with
 * their fields nested inside, one canvas strip per RAM block, and the details panel.
 * @module
 */

/** CSS of the page. */
export const PAGE_STYLE = `
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:10px 16px;background:#263238;color:#fff}
h1{font-size:17px;margin:0 0 4px}h2{font-size:14px;margin:14px 0 6px}h2 small{font-weight:normal;color:#666}
#summary{font-size:12px;color:#cfd8dc}
main{display:flex;gap:12px;padding:0 16px 16px}
#left{flex:1;min-width:0}
#details{width:340px;flex:none;margin-top:14px;background:#fff;border:1px solid #ddd;border-radius:4px;
 padding:10px;font-size:12px;max-height:calc(100vh - 110px);overflow:auto;position:sticky;top:8px}
#details table{border-collapse:collapse;width:100%}#details td{border-top:1px solid #eee;padding:2px 4px;
 vertical-align:top;word-break:break-all}#details td:first-child{color:#555;white-space:nowrap}
#bar{display:flex;height:30px;border:1px solid #999;border-radius:3px;overflow:hidden}
#bar div{height:100%;min-width:3px;border-right:1px solid #fff;box-sizing:border-box;cursor:pointer;
 overflow:hidden;white-space:nowrap;font-size:10px;color:#fff;padding:2px}
#map{position:relative;height:520px;border:1px solid #999;background:#fff}
.box{position:absolute;box-sizing:border-box;border:1px solid #fff;overflow:hidden;cursor:pointer;
 font-size:11px;color:#fff;padding:1px 3px;white-space:nowrap}
.box.field{border-color:rgba(255,255,255,.55);font-size:10px;color:#111;background:rgba(255,255,255,.72)}
.box.hit{outline:3px solid #ffeb3b;z-index:2}.box.sel{outline:3px solid #e91e63;z-index:3}
.strip{margin:4px 0 10px}.strip canvas{border:1px solid #999;cursor:crosshair;image-rendering:pixelated}
#legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
#filter{width:100%;box-sizing:border-box;margin-bottom:6px;padding:4px}
code{font-size:11px}
`;

/** The page's script (plain ES2017, no template literals, so it embeds safely). */
export const PAGE_SCRIPT = `
"use strict";
var D = JSON.parse(document.getElementById("data").textContent);
var COLORS = {header:"#37474f",configuration:"#546e7a",ram:"#1e88e5",device:"#8e24aa",eof:"#000",
  vmdesc:"#9e9e9e",undecoded:"#e53935",command:"#6d4c41"};
var PAGE_COLORS = {z:"#bbdefb",d:"#0d47a1",f:"#ff9800","-":"#ffffff"};
function hx(n){return "0x"+n.toString(16);}
function bytes(n){return n<1024?n+" B":n<1048576?(n/1024).toFixed(1)+" KiB":(n/1048576).toFixed(2)+" MiB";}
function esc(s){return String(s).replace(/[&<>]/g,function(c){return {"&":"&amp;","<":"&lt;",">":"&gt;"}[c];});}
function hue(name){var h=0;for(var i=0;i<name.length;i++)h=(h*31+name.charCodeAt(i))%360;return h;}
function sectionColor(c){return c.section==="ram"?COLORS.ram:"hsl("+hue(c.section)+",55%,42%)";}
function rows(pairs){return "<table>"+pairs.map(function(p){return "<tr><td>"+esc(p[0])+"</td><td>"+p[1]+"</td></tr>";}).join("")+"</table>";}
var selected=null;
function select(el){if(selected)selected.classList.remove("sel");selected=el;if(el)el.classList.add("sel");}
function showChunk(i,el){
  var c=D.chunks[i];select(el);
  var html="<h3>"+esc(c.selector)+"</h3>"+rows([["section",esc(c.section)],["chunk",c.kind.toUpperCase()],
    ["section_id",c.sectionId],["instance_id",c.instanceId],["version_id",c.version],
    ["bytes",c.size+" at "+hx(c.offset)],["payload",c.payloadSize+" at "+hx(c.payloadOffset)],
    ["footer",c.footerOffset===undefined?"none":hx(c.footerOffset)],["fields",c.fields.length]]);
  if(c.fields.length){html+="<h4>Fields</h4><table>"+c.fields.slice(0,400).map(function(f){var F=D.fields[f];
    return "<tr><td><code>"+esc(F.path.slice(c.section.length))+"</code></td><td>"+esc(F.value)+"</td></tr>";}).join("")+"</table>";
    if(c.fields.length>400)html+="<p>... "+(c.fields.length-400)+" more</p>";}
  if(c.ram!==undefined)html+="<p>RAM block <b>"+esc(D.ram[c.ram].block)+"</b>: see the strip below.</p>";
  document.getElementById("details").innerHTML=html;
}
function showField(i,el){
  var F=D.fields[i];select(el);
  document.getElementById("details").innerHTML="<h3><code>"+esc(F.path)+"</code></h3>"+rows([["type",esc(F.type)],
    ["bytes",F.size+" at "+hx(F.offset)],["value","<code>"+esc(F.value)+"</code>"]])+
    "<p>Rewrite it: <code>corrupt IN OUT --set "+esc(F.path)+"=VALUE</code></p>";
}
function showBar(b){
  if(b.chunk!==undefined)return showChunk(b.chunk,null);
  document.getElementById("details").innerHTML="<h3>"+esc(b.label)+"</h3>"+rows([["bytes",b.size+" at "+hx(b.offset)]]);
}
function worst(row,side,scale){var s=0,mx=0,mn=Infinity;row.forEach(function(r){var a=r.v*scale;s+=a;mx=Math.max(mx,a);mn=Math.min(mn,a);});
  return Math.max(side*side*mx/(s*s),(s*s)/(side*side*mn));}
function layoutRow(row,r,scale,out){var s=0;row.forEach(function(i){s+=i.v*scale;});
  if(r.w>=r.h){var cw=s/r.h,y=r.y;row.forEach(function(i){var h=i.v*scale/cw;out.push({it:i,x:r.x,y:y,w:cw,h:h});y+=h;});return {x:r.x+cw,y:r.y,w:r.w-cw,h:r.h};}
  var rh=s/r.w,x=r.x;row.forEach(function(i){var w=i.v*scale/rh;out.push({it:i,x:x,y:r.y,w:w,h:rh});x+=w;});return {x:r.x,y:r.y+rh,w:r.w,h:r.h-rh};}
function squarify(items,r){var out=[],total=0;items.forEach(function(i){total+=i.v;});if(!total)return out;
  var scale=r.w*r.h/total,rest=items.slice().sort(function(a,b){return b.v-a.v;}),row=[];
  while(rest.length){var side=Math.min(r.w,r.h),next=row.concat([rest[0]]);
    if(!row.length||worst(next,side,scale)<=worst(row,side,scale)){row=next;rest.shift();}
    else{r=layoutRow(row,r,scale,out);row=[];}}
  if(row.length)layoutRow(row,r,scale,out);return out;}
function box(parent,cls,x,y,w,h,label,color){var d=document.createElement("div");d.className="box "+cls;
  d.style.left=x+"px";d.style.top=y+"px";d.style.width=Math.max(w,1)+"px";d.style.height=Math.max(h,1)+"px";
  if(color)d.style.background=color;if(w>30&&h>12)d.textContent=label;d.title=label;parent.appendChild(d);return d;}
var fieldBoxes=[];
function drawMap(){
  var map=document.getElementById("map");map.innerHTML="";fieldBoxes=[];
  var W=map.clientWidth,H=map.clientHeight,floor=D.size*0.015;
  var items=D.chunks.map(function(c,i){return {v:Math.max(c.size,floor),i:i};});
  squarify(items,{x:0,y:0,w:W,h:H}).forEach(function(r){
    var c=D.chunks[r.it.i],d=box(map,"chunk",r.x,r.y,r.w,r.h,c.selector+" "+bytes(c.size),sectionColor(c));
    d.onclick=function(e){e.stopPropagation();showChunk(r.it.i,d);};
    if(c.fields.length&&r.w>60&&r.h>40){
      var pad=16,ff=Math.max(1,c.payloadSize)*0.004;
      var sub=c.fields.map(function(f){return {v:Math.max(D.fields[f].size,ff),f:f};});
      squarify(sub,{x:r.x+2,y:r.y+pad,w:r.w-4,h:r.h-pad-2}).forEach(function(s){
        var F=D.fields[s.it.f],fd=box(map,"field",s.x,s.y,s.w,s.h,F.path.slice(c.section.length+1)+" = "+F.value);
        fd.dataset.path=F.path;fd.onclick=function(e){e.stopPropagation();showField(s.it.f,fd);};fieldBoxes.push(fd);});
    }
  });
}
function drawBar(){var bar=document.getElementById("bar");bar.innerHTML="";
  D.bar.forEach(function(b){var d=document.createElement("div");d.style.flex=String(Math.max(b.size,D.size*0.002));
    d.style.background=COLORS[b.kind]||"#777";d.title=b.label+" "+bytes(b.size)+" at "+hx(b.offset);d.textContent=b.label;
    d.onclick=function(){showBar(b);};bar.appendChild(d);});}
function drawRam(){var host=document.getElementById("ram");host.innerHTML="";
  if(!D.ram.length){host.textContent="No RAM section in this stream.";return;}
  var width=Math.max(200,host.clientWidth-4);
  D.ram.forEach(function(b){var n=b.pages.length,cell=n>16384?2:n>4096?3:5,cols=Math.max(1,Math.min(n,Math.floor(width/cell))),rowsN=Math.ceil(n/cols);
    var wrap=document.createElement("div");wrap.className="strip";
    var counts={z:0,d:0,f:0,"-":0};for(var k=0;k<n;k++)counts[b.pages[k]]++;
    wrap.innerHTML="<b>"+esc(b.block)+"</b> "+bytes(b.length)+", "+n+" pages: "+counts.d+" data, "+counts.z+" zero, "+counts.f+" filled, "+counts["-"]+" not sent<br>";
    var cv=document.createElement("canvas");cv.width=cols*cell;cv.height=rowsN*cell;var g=cv.getContext("2d");
    for(var p=0;p<n;p++){g.fillStyle=PAGE_COLORS[b.pages[p]];g.fillRect((p%cols)*cell,Math.floor(p/cols)*cell,cell,cell);}
    cv.onclick=function(e){var rc=cv.getBoundingClientRect(),x=Math.floor((e.clientX-rc.left)/cell),y=Math.floor((e.clientY-rc.top)/cell),p=y*cols+x;
      if(p>=n)return;var kind={z:"ZERO record",d:"PAGE record (data)",f:"ZERO record with a non-zero fill",["-"]:"not sent"}[b.pages[p]];
      document.getElementById("details").innerHTML="<h3>"+esc(b.block)+" page "+p+"</h3>"+rows([["guest offset",hx(p*D.pageSize)],["sent as",kind],
        ["record at",b.offsets[p]<0?"-":hx(b.offsets[p])]]);};
    wrap.appendChild(cv);host.appendChild(wrap);});}
function drawLegend(){var l=document.getElementById("legend");
  l.innerHTML="Pages:"+[["z","zero"],["d","data"],["f","non-zero fill"],["-","not sent"]].map(function(p){return "<span style='background:"+PAGE_COLORS[p[0]]+";border:1px solid #999'></span>"+p[1];}).join("")+
  " &nbsp; Stream:"+Object.keys(COLORS).map(function(k){return "<span style='background:"+COLORS[k]+"'></span>"+k;}).join("");}
function summary(){var s=D.chunks.length+" section chunks, "+D.fields.length+" fields, "+bytes(D.size)+", target page size "+D.pageSize;
  if(D.warnings.length)s+=" &mdash; "+D.warnings.length+" warning(s): "+esc(D.warnings.slice(0,3).join("; "));
  document.getElementById("summary").innerHTML=s;}
document.getElementById("filter").oninput=function(e){var q=e.target.value.trim();
  fieldBoxes.forEach(function(b){b.classList.toggle("hit",q.length>0&&b.dataset.path.indexOf(q)>=0);});};
function fromHash(){var h=decodeURIComponent(location.hash.slice(1));if(!h)return;
  for(var i=0;i<D.fields.length;i++)if(D.fields[i].path===h){var el=fieldBoxes.filter(function(b){return b.dataset.path===h;})[0];showField(i,el||null);return;}
  for(var j=0;j<D.chunks.length;j++)if(D.chunks[j].selector===h||D.chunks[j].section===h)return showChunk(j,null);}
summary();drawBar();drawMap();drawRam();drawLegend();fromHash();
window.addEventListener("hashchange",fromHash);
window.addEventListener("resize",drawMap);
`;
