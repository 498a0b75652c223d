/* instance: one palabred per storage directory and per router socket. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../server/instance.h"
#include "unit.h"

static char dir[] = "/tmp/palabre-instance-XXXXXX";
static char data_a[128], data_b[128], socket_a[128], socket_b[128];

static struct config config_of(char *data_dir, char *router_socket)
{
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.data_dir = data_dir;
	cfg.router_socket = router_socket;
	return cfg;
}

static void lock_ok(struct instance *in, const struct config *cfg)
{
	char err[512];
	ck_assert_msg(instance_lock(in, cfg, err, sizeof err) == 0, "%s", err);
}

/* A lock on cfg is refused, naming the pid that holds it and why. */
static void assert_refused(const struct config *cfg, pid_t holder,
			   const char *setting, const char *value)
{
	struct instance in;
	char err[512], want[512];
	snprintf(want, sizeof want,
		 "another palabred (pid %d) runs with "
		 "%s: %s; stop it first",
		 (int)holder, setting, value);
	ck_assert_int_eq(instance_lock(&in, cfg, err, sizeof err), -1);
	ck_assert_str_eq(err, want);
}

START_TEST(the_same_storage_is_refused_with_the_holder_pid)
{
	struct config a = config_of(data_a, socket_a);
	struct config b = config_of(data_a, socket_b);
	struct instance first, second;
	lock_ok(&first, &a);
	assert_refused(&a, getpid(), "storage/path", data_a);
	assert_refused(&b, getpid(), "storage/path", data_a);
	instance_unlock(&first);
	/* the file stays; a released lock stops nobody */
	char lock_file[160];
	snprintf(lock_file, sizeof lock_file, "%s/palabred.lock", data_a);
	ck_assert_int_eq(access(lock_file, F_OK), 0);
	lock_ok(&second, &b);
	instance_unlock(&second);
}
END_TEST

START_TEST(the_same_socket_with_another_storage_is_refused)
{
	struct config a = config_of(data_a, socket_a);
	struct config b = config_of(data_b, socket_a);
	struct config c = config_of(data_b, socket_b);
	struct instance first, third;
	lock_ok(&first, &a);
	assert_refused(&b, getpid(), "router/socket", socket_a);
	/* the refused one let go of the storage it had locked */
	lock_ok(&third, &c);
	instance_unlock(&third);
	instance_unlock(&first);
}
END_TEST

START_TEST(a_socket_directory_that_does_not_exist_is_named)
{
	char socket[160];
	snprintf(socket, sizeof socket, "%s/nothere/router.sock", dir);
	struct config a = config_of(data_a, socket);
	struct instance in;
	char err[512], want[512];
	snprintf(want, sizeof want,
		 "router/socket: cannot open the lock file "
		 "%s.lock: No such file or directory",
		 socket);
	ck_assert_int_eq(instance_lock(&in, &a, err, sizeof err), -1);
	ck_assert_str_eq(err, want);
}
END_TEST

/* palabred -d: the lock taken before the forks stays with the daemon,
 * which then writes its own pid. */
START_TEST(a_forked_daemon_keeps_the_lock_and_names_itself)
{
	struct config a = config_of(data_a, socket_a);
	struct instance in;
	int ready[2], done[2];
	char byte = 0;
	lock_ok(&in, &a);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(done), 0);
	pid_t daemon = fork();
	if (daemon == 0) {
		instance_note_pid(&in);
		_exit(write(ready[1], &byte, 1) == 1 &&
				      read(done[0], &byte, 1) == 1
			      ? 0
			      : 1);
	}
	instance_unlock(&in); /* the parent exits in daemonize */
	ck_assert_int_eq(read(ready[0], &byte, 1), 1);
	assert_refused(&a, daemon, "storage/path", data_a);
	ck_assert_int_eq(write(done[1], &byte, 1), 1);
	int status;
	ck_assert_int_eq(waitpid(daemon, &status, 0), daemon);
	ck_assert_int_eq(status, 0);
	lock_ok(&in, &a);
	instance_unlock(&in);
}
END_TEST

static void remove_lock_files(void)
{
	char path[160];
	const char *dirs[] = {data_a, data_b};
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/palabred.lock", dirs[i]);
		unlink(path);
		rmdir(dirs[i]);
	}
	const char *sockets[] = {socket_a, socket_b};
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s.lock", sockets[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	snprintf(data_a, sizeof data_a, "%s/a", dir);
	snprintf(data_b, sizeof data_b, "%s/b", dir);
	snprintf(socket_a, sizeof socket_a, "%s/a.sock", dir);
	snprintf(socket_b, sizeof socket_b, "%s/b.sock", dir);
	if (mkdir(data_a, 0700) < 0 || mkdir(data_b, 0700) < 0) {
		perror("mkdir");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("instance");
	TCase *tc = tcase_create("lock");
	tcase_add_test(tc, the_same_storage_is_refused_with_the_holder_pid);
	tcase_add_test(tc, the_same_socket_with_another_storage_is_refused);
	tcase_add_test(tc, a_socket_directory_that_does_not_exist_is_named);
	tcase_add_test(tc, a_forked_daemon_keeps_the_lock_and_names_itself);
	suite_add_tcase(s, tc);
	int status = unit_run(s);
	remove_lock_files();
	return status;
}
