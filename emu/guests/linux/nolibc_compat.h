/*
 * Included before the kernel's nolibc (tools/include/nolibc, Linux 6.1) when building the init for
 * rv32. That nolibc predates rv32's time64-only syscall table: select, poll, stat, lseek, wait4 and
 * gettimeofday have no syscall there and would stop the build with #error. Numbering them -1 makes
 * those calls fail at run time (ENOSYS) instead; the init never calls them.
 */
#ifndef SNAPSHELL_NOLIBC_COMPAT_H
#define SNAPSHELL_NOLIBC_COMPAT_H

#include <asm/unistd.h>

#ifndef __NR_select
#define __NR_select -1
#endif
#ifndef __NR_poll
#define __NR_poll -1
#endif
#ifndef __NR_stat
#define __NR_stat -1
#endif
#ifndef __NR_lseek
#define __NR_lseek -1
#endif
#ifndef __NR_wait4
#define __NR_wait4 -1
#endif
#ifndef __NR_gettimeofday
#define __NR_gettimeofday -1
#endif

#endif
