/* virt-probe: what a guest sees at QEMU riscv virt's PCIe host windows with nothing on the bus
 * and at its empty virtio-mmio transports.
 * For each address: a 32-bit read, an 8-bit read, a 32-bit write of 0x12345678 and a read back,
 * each printed as its value or "fault" (load/store access fault). Run on QEMU 7.2 (`-M virt
 * -bios none -kernel`) and on snapshell's qemu-virt, the outputs must be equal. */
#include "rt.h"

static volatile uint32_t faulted;

/* Load and store access faults resume after the access (no compressed instructions here). */
uint32_t on_exception(uint32_t mcause, uint32_t mepc, uint32_t mtval) {
  if (mcause == 5 || mcause == 7) {
    faulted = 1;
    return mepc + 4;
  }
  kprintf("\nexception: mcause=%X mepc=%X mtval=%X\n", mcause, mepc, mtval);
  rt_exit(0x7f);
}

static void show(uint32_t v) {
  if (faulted) putstr(" fault");
  else kprintf(" %X", v);
  faulted = 0;
}

static void probe(const char *what, uint32_t addr) {
  kprintf("%s %X:", what, addr);
  faulted = 0;
  show(mmio_r32(addr));
  show(mmio_r8(addr + 1));
  mmio_w32(addr, 0x12345678u);
  if (faulted) putstr(" w-fault");
  faulted = 0;
  show(mmio_r32(addr));
  putch('\n');
}

int main(void) {
  uart_init();
  probe("pio", 0x03000000u);
  probe("pio", 0x03000cf8u);
  probe("pio", 0x0300fffcu);
  probe("past-pio", 0x03010000u);
  probe("ecam-root", 0x30000000u);
  probe("ecam-none", 0x30008000u);
  probe("mmio", 0x40000000u);
  probe("mmio", 0x5ffffff0u);
  probe("mmio", 0x7ffffffcu);
  probe("virtio-magic", 0x10001000u);
  probe("virtio-version", 0x10001004u);
  probe("virtio-device", 0x10001008u);
  probe("virtio-vendor", 0x1000100cu);
  probe("virtio-status", 0x10001070u);
  probe("virtio-end", 0x100011fcu);
  probe("virtio-past", 0x10001200u);
  probe("virtio7-magic", 0x10008000u);
  probe("virtio7-vendor", 0x1000800cu);
  probe("past-virtio", 0x10009000u);
  putstr("virt-probe done\n");
  return 0;
}
