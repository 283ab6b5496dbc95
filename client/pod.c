/* pod.c: pods: GET one, pick its container the way kubectl does. */
#include "kclient_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "buf.h"

static char **names_of(const cJSON *arr, const cJSON *arr2)
{
	size_t n = (size_t)cJSON_GetArraySize(arr) + (size_t)cJSON_GetArraySize(arr2), i = 0;
	char **v = calloc(n + 1, sizeof(char *));
	const cJSON *c;

	if (!v)
		return NULL;
	cJSON_ArrayForEach(c, arr)
	{
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(c, "name");

		if (cJSON_IsString(nm))
			v[i++] = strdup(nm->valuestring);
	}
	cJSON_ArrayForEach(c, arr2)
	{
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(c, "name");

		if (cJSON_IsString(nm))
			v[i++] = strdup(nm->valuestring);
	}
	return v;
}

static char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	return cJSON_IsString(x) ? strdup(x->valuestring) : NULL;
}

int kpod_get(struct kclient *kc, const char *ns, const char *name, struct kpod *out, char *err, size_t errlen)
{
	char *ens = NULL, *ename = NULL, *body = NULL, path[2048];
	size_t len;
	long status = 0;
	cJSON *j = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!*name || !*ns) {
		snprintf(err, errlen, "a pod name and a namespace are required");
		return -EINVAL;
	}
	rc = kurl_path_escape(ns, &ens);
	if (!rc)
		rc = kurl_path_escape(name, &ename);
	if (rc)
		goto out;
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", ens, ename);
	rc = krest_get(kc, path, &status, &body, &len, err, errlen);
	if (rc)
		goto out;
	if (status != 200) {
		rc = krest_status_error(status, body, err, errlen);
		goto out;
	}
	j = cJSON_Parse(body);
	if (!j) {
		snprintf(err, errlen, "the API server sent a pod that is not JSON");
		rc = -EPROTO;
		goto out;
	}
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(j, "spec");
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(md, "annotations");

	out->name = str_at(md, "name", NULL);
	out->namespace = str_at(md, "namespace", NULL);
	out->phase = str_at(j, "status", "phase");
	out->node_name = str_at(spec, "nodeName", NULL);
	out->default_container = str_at(ann, "kubectl.kubernetes.io/default-container", NULL);
	out->containers = names_of(cJSON_GetObjectItemCaseSensitive(spec, "containers"), NULL);
	out->other_containers = names_of(cJSON_GetObjectItemCaseSensitive(spec, "initContainers"),
					 cJSON_GetObjectItemCaseSensitive(spec, "ephemeralContainers"));
	if (!out->name || !out->containers || !out->other_containers) {
		snprintf(err, errlen, "the API server sent a pod without name or containers");
		kpod_free(out);
		rc = -EPROTO;
	}
out:
	cJSON_Delete(j);
	free(body);
	free(ens);
	free(ename);
	return rc;
}

static void free_names(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void kpod_free(struct kpod *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->namespace);
	free(p->phase);
	free(p->node_name);
	free(p->default_container);
	free_names(p->containers);
	free_names(p->other_containers);
	memset(p, 0, sizeof(*p));
}

static bool has(char **v, const char *s)
{
	for (char **p = v; p && *p; p++)
		if (!strcmp(*p, s))
			return true;
	return false;
}

int kpod_pick_container(const struct kpod *p, const char *want, const char **out, char *notice,
			size_t noticelen, char *err, size_t errlen)
{
	notice[0] = '\0';
	*out = NULL;
	if (p->phase && (!strcmp(p->phase, "Succeeded") || !strcmp(p->phase, "Failed"))) {
		snprintf(err, errlen, "cannot exec into a container in a completed pod; current phase is %s", p->phase);
		return -ESRCH;
	}
	if (p->phase && strcmp(p->phase, "Running")) {
		snprintf(err, errlen, "pod %s/%s is not running (phase %s): its containers cannot run commands yet",
			 p->namespace ? p->namespace : "", p->name, p->phase);
		return -EAGAIN;
	}
	if (!p->containers[0]) {
		snprintf(err, errlen, "pod %s has no containers", p->name);
		return -ENOENT;
	}
	if (want && *want) {
		if (!has(p->containers, want) && !has(p->other_containers, want)) {
			snprintf(err, errlen, "container %s is not valid for pod %s", want, p->name);
			return -ENOENT;
		}
		*out = want;
		return 0;
	}
	if (p->default_container && has(p->containers, p->default_container)) {
		*out = p->default_container;
		return 0;
	}
	*out = p->containers[0];
	if (p->containers[1] || p->other_containers[0]) {
		struct buf b;

		buf_init(&b, noticelen);
		buf_printf(&b, "Defaulted container \"%s\" out of: ", *out);
		for (size_t i = 0; p->containers[i]; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", p->containers[i]);
		for (size_t i = 0; p->other_containers[i]; i++)
			buf_printf(&b, ", %s", p->other_containers[i]);
		snprintf(notice, noticelen, "%s", b.data ? b.data : "");
		buf_cleanup(&b);
	}
	return 0;
}
