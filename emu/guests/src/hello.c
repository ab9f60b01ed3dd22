/* hello: prints one line and exits 0 through the sifive_test finisher. */
#include "rt.h"

int main(void) {
  uart_init();
  putstr("Hello from snapshell guest\n");
  return 0;
}
