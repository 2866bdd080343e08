// SPDX-License-Identifier: MIT
/* measure [-i IN] [-o OUT] [-e ERR] TAG CMD [ARG...]: run CMD once and print
 * "MEASURE TAG <wall seconds> <peak RSS KiB> <exit status>" on stderr.
 *
 * A small C parent, because the kernel counts the RSS a child had between
 * fork() and exec() in its peak: launched from Python, every program would
 * "peak" at the size of the Python interpreter. Wall time is from fork() to
 * wait4(). stdin, stdout and stderr of CMD default to /dev/null, /dev/null
 * and this program's stderr. Used on the host and inside the IPVS VM. */
#define _GNU_SOURCE

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void redirect(const char *path, int fd, int flags)
{
	int f;

	if (!path)
		return;
	f = open(path, flags, 0600);
	if (f < 0 || dup2(f, fd) < 0)
		_exit(126);
	close(f);
}

int main(int argc, char **argv)
{
	const char *in = "/dev/null", *out = "/dev/null", *err = NULL;
	struct rusage ru;
	double start;
	int status, opt;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+i:o:e:")) != -1) {
		if (opt == 'i')
			in = optarg;
		else if (opt == 'o')
			out = optarg;
		else if (opt == 'e')
			err = optarg;
		else
			return 2;
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: measure [-i IN] [-o OUT] [-e ERR] TAG CMD [ARG...]\n");
		return 2;
	}
	start = now();
	pid = fork();
	if (pid == 0) {
		redirect(in, 0, O_RDONLY);
		redirect(out, 1, O_WRONLY | O_CREAT | O_TRUNC);
		redirect(err, 2, O_WRONLY | O_CREAT | O_TRUNC);
		execvp(argv[optind + 1], argv + optind + 1);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
		return 1;
	fprintf(stderr, "MEASURE %s %.6f %ld %d\n", argv[optind], now() - start, ru.ru_maxrss,
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
