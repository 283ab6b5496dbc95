/* test_client.c: the pure parts of client/: the exec status channel,
 * Status errors, URL escaping, kubectl's container choice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "kclient_int.h"

static void parse(const char *json, struct kexec_result *r)
{
	memset(r, 0, sizeof(*r));
	kexec_parse_status(json, strlen(json), r);
}

static void status_success_is_exit_zero(void **state)
{
	struct kexec_result r;

	(void)state;
	parse("{\"metadata\":{},\"status\":\"Success\"}", &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.exit_code, 0);
}

static void status_nonzero_exit_code_is_parsed(void **state)
{
	struct kexec_result r;

	(void)state;
	parse("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: x\","
	      "\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"Other\",\"message\":\"9\"},"
	      "{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}",
	      &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.exit_code, 3);
	parse("{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"255\"}]}}",
	      &r);
	assert_int_equal(r.exit_code, 255);
}

static void status_bad_exit_codes_are_protocol_errors(void **state)
{
	struct kexec_result r;
	static const char *const bad[] = {
		"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"256\"}]}}",
		"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"-1\"}]}}",
		"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3a\"}]}}",
		"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[]}}",
		"{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\"}",
		"not json",
		"[1,2]",
		"{\"status\":3}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(bad[i], &r);
		assert_int_equal(r.rc, -EPROTO);
		assert_true(strstr(r.message, "protocol error") != NULL);
	}
}

static void status_other_failures_carry_the_message(void **state)
{
	struct kexec_result r;

	(void)state;
	parse("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Internal error occurred: error executing command in "
	      "container: ... exec: \\\"tar\\\": executable file not found in $PATH: unknown\",\"reason\":\"InternalError\","
	      "\"code\":500}",
	      &r);
	assert_int_equal(r.rc, -ENOENT);
	assert_true(strstr(r.message, "executable file not found") != NULL);
	parse("{\"status\":\"Failure\",\"message\":\"Internal error occurred: unable to upgrade connection: container not found (\\\"main\\\")\",\"reason\":\"InternalError\"}",
	      &r);
	assert_int_equal(r.rc, -ESRCH);
	parse("{\"status\":\"Failure\",\"message\":\"something else\",\"reason\":\"InternalError\"}", &r);
	assert_int_equal(r.rc, -EREMOTEIO);
	assert_string_equal(r.message, "something else");
}

static void status_errors_read_like_kubectl(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(krest_status_error(404, "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"pods \\\"x\\\" not found\",\"reason\":\"NotFound\",\"code\":404}",
					    err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "Error from server (NotFound): pods \"x\" not found");
	assert_int_equal(krest_status_error(403, "{\"message\":\"no\",\"reason\":\"Forbidden\"}", err, sizeof(err)), -EACCES);
	assert_int_equal(krest_status_error(401, "{}", err, sizeof(err)), -EACCES);
	assert_true(strstr(err, "Unauthorized") != NULL);
	assert_int_equal(krest_status_error(429, "{\"message\":\"slow down\",\"reason\":\"TooManyRequests\"}", err, sizeof(err)),
			 -EAGAIN);
	assert_int_equal(krest_status_error(502, "<html>bad gateway</html>", err, sizeof(err)), -EIO);
	assert_true(strstr(err, "HTTP 502") != NULL);
}

static void query_escape_matches_go(void **state)
{
	char *o;

	(void)state;
	assert_int_equal(kurl_query_escape("echo out; echo err >&2; exit 3", &o), 0);
	assert_string_equal(o, "echo+out%3B+echo+err+%3E%262%3B+exit+3");
	free(o);
	assert_int_equal(kurl_query_escape("/tmp/a b+c%d\n\xff", &o), 0);
	assert_string_equal(o, "%2Ftmp%2Fa+b%2Bc%25d%0A%FF");
	free(o);
	assert_int_equal(kurl_path_escape("a b/c", &o), 0);
	assert_string_equal(o, "a%20b%2Fc");
	free(o);
}

static char *names_a_b[] = { "a", "b", NULL };
static char *names_none[] = { NULL };
static char *names_init[] = { "init", NULL };

static void container_choice_follows_kubectl(void **state)
{
	struct kpod p = { .name = "p", .namespace = "ns", .phase = "Running", .containers = names_a_b,
			  .other_containers = names_none };
	const char *c;
	char notice[256], err[256];

	(void)state;
	assert_int_equal(kpod_pick_container(&p, NULL, &c, notice, sizeof(notice), err, sizeof(err)), 0);
	assert_string_equal(c, "a");
	assert_string_equal(notice, "Defaulted container \"a\" out of: a, b");
	p.default_container = "b";
	assert_int_equal(kpod_pick_container(&p, NULL, &c, notice, sizeof(notice), err, sizeof(err)), 0);
	assert_string_equal(c, "b");
	assert_string_equal(notice, "");
	p.default_container = "gone"; /* an annotation naming no container is ignored */
	assert_int_equal(kpod_pick_container(&p, NULL, &c, notice, sizeof(notice), err, sizeof(err)), 0);
	assert_string_equal(c, "a");
	p.other_containers = names_init;
	assert_int_equal(kpod_pick_container(&p, "init", &c, notice, sizeof(notice), err, sizeof(err)), 0);
	assert_string_equal(c, "init");
	assert_int_equal(kpod_pick_container(&p, "zzz", &c, notice, sizeof(notice), err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "container zzz is not valid for pod p");
	p.phase = "Succeeded";
	assert_int_equal(kpod_pick_container(&p, NULL, &c, notice, sizeof(notice), err, sizeof(err)), -ESRCH);
	assert_true(strstr(err, "completed pod") != NULL);
	p.phase = "Pending";
	assert_int_equal(kpod_pick_container(&p, NULL, &c, notice, sizeof(notice), err, sizeof(err)), -EAGAIN);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(status_success_is_exit_zero),
	cmocka_unit_test(status_nonzero_exit_code_is_parsed),
	cmocka_unit_test(status_bad_exit_codes_are_protocol_errors),
	cmocka_unit_test(status_other_failures_carry_the_message),
	cmocka_unit_test(status_errors_read_like_kubectl),
	cmocka_unit_test(query_escape_matches_go),
	cmocka_unit_test(container_choice_follows_kubectl),
};

UNIT_MAIN(tests)
