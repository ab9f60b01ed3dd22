/*
 * snapshell's Linux guest init: a tiny interactive shell on /dev/console, so that a host can type
 * a command and wait for its answer. Built static with the kernel's nolibc (no C library); see
 * build.ts. Commands: help, echo, uptime, date, cat FILE, count N [MS], poweroff.
 */
#include "nolibc_compat.h"
#include <nolibc.h>
#include <linux/time.h>
#include <linux/time_types.h>

#define PROMPT "snapshell# "

static void puts_(const char *s) { write(1, s, strlen(s)); }

/* Unsigned decimal without a divide of 64-bit numbers (libgcc has it, but keep the init small). */
static void put_u32(unsigned int v)
{
	char buf[12];
	int i = sizeof(buf);

	buf[--i] = 0;
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	puts_(buf + i);
}

/* clock_gettime and clock_nanosleep exist only as *_time64 on rv32. */
static int now(int clock, struct __kernel_timespec *ts)
{
	return my_syscall2(__NR_clock_gettime64, clock, ts);
}

static void sleep_ms(unsigned int ms)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	my_syscall4(__NR_clock_nanosleep_time64, CLOCK_MONOTONIC, 0, &ts, 0);
}

static unsigned int parse_u32(const char *s, unsigned int dflt)
{
	unsigned int v = 0;

	if (!s || *s < '0' || *s > '9')
		return dflt;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

static void cat(const char *path)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY, 0);

	if (fd < 0) {
		puts_("cat: cannot open ");
		puts_(path);
		puts_("\n");
		return;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		write(1, buf, n);
	close(fd);
}

/* Splits `line` in place at spaces; returns the number of words (at most max). */
static int split(char *line, char **argv, int max)
{
	int argc = 0;

	while (*line && argc < max) {
		while (*line == ' ' || *line == '\t')
			*line++ = 0;
		if (!*line)
			break;
		argv[argc++] = line;
		while (*line && *line != ' ' && *line != '\t')
			line++;
	}
	return argc;
}

static void run(int argc, char **argv)
{
	struct __kernel_timespec ts;
	unsigned int i, n, ms;

	if (!strcmp(argv[0], "help")) {
		puts_("commands: help, echo TEXT, uptime, date, cat FILE, count N [MS], poweroff\n");
	} else if (!strcmp(argv[0], "echo")) {
		for (i = 1; i < (unsigned int)argc; i++) {
			puts_(argv[i]);
			puts_(i + 1 < (unsigned int)argc ? " " : "");
		}
		puts_("\n");
	} else if (!strcmp(argv[0], "uptime")) {
		cat("/proc/uptime");
	} else if (!strcmp(argv[0], "date")) {
		now(CLOCK_REALTIME, &ts);
		puts_("epoch ");
		put_u32((unsigned int)ts.tv_sec);
		puts_("\n");
	} else if (!strcmp(argv[0], "cat") && argc > 1) {
		cat(argv[1]);
	} else if (!strcmp(argv[0], "count")) {
		n = parse_u32(argc > 1 ? argv[1] : 0, 5);
		ms = parse_u32(argc > 2 ? argv[2] : 0, 1000);
		for (i = 1; i <= n; i++) {
			sleep_ms(ms);
			puts_("tick ");
			put_u32(i);
			puts_("\n");
		}
	} else if (!strcmp(argv[0], "poweroff")) {
		puts_("powering off\n");
		reboot(LINUX_REBOOT_CMD_POWER_OFF);
	} else {
		puts_(argv[0]);
		puts_(": unknown command (try help)\n");
	}
}

int main(void)
{
	char line[256], *argv[16];
	ssize_t n;
	int argc;

	mount("proc", "/proc", "proc", 0, 0);
	puts_("\nsnapshell linux init: type help\n");
	for (;;) {
		puts_(PROMPT);
		n = read(0, line, sizeof(line) - 1);
		if (n <= 0) {
			sleep_ms(100);
			continue;
		}
		line[n] = 0;
		if (line[n - 1] == '\n')
			line[n - 1] = 0;
		argc = split(line, argv, 16);
		if (argc)
			run(argc, argv);
	}
}
