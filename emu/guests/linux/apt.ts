/**
 * The apt sources decision of the Linux guest build: `apt-get source qemu` needs a `deb-src`
 * entry; when there is none, the build adds a twin of Debian's own `.sources` entry with
 * `Types: deb-src`. Pure, so it can be tested without touching /etc/apt.
 * @module
 */

/** File the build writes the twin to (under /etc/apt/sources.list.d). */
export const DEB_SRC_FILE = "snapshell-deb-src.sources";

/** One file of /etc/apt/sources.list.d. */
export interface SourcesFile {
  /** File name. */
  name: string;
  /** Its text. */
  text: string;
}

/**
 * The deb822 text to add so that source packages can be fetched, or null when a `deb-src`
 * entry exists already (in a `.sources` file or the one-line /etc/apt/sources.list). Throws
 * when there is nothing to copy from.
 */
export function debSrcTwin(files: readonly SourcesFile[], legacyList: string): string | null {
  const deb822 = files.filter((f) => f.name.endsWith(".sources"));
  if (deb822.some((f) => /^Types:.*\bdeb-src\b/m.test(f.text))) return null;
  if (/^\s*deb-src\s/m.test(legacyList)) return null;
  const debian = deb822.find((f) => f.name === "debian.sources");
  if (!debian) {
    throw new Error("no deb-src entry and no debian.sources to copy one from");
  }
  return debian.text.replace(/^Types:.*$/gm, "Types: deb-src");
}
