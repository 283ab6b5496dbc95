/* batch.h: the reader of tar-free batches (several small files in one
 * request where the pod has no tar; backend.c makes the request).
 *
 * For the I-th name asked for (1-based) that is a regular file of at
 * most MAX_EACH bytes, a line
 *
 *     "F " I " " SIZE " " MTIME "\n"
 *
 * then "D\n", then the data of those files back to back (`cat`: SIZE
 * bytes each, in the order of the F lines), then, stat'ed again once all
 * were read,
 *
 *     "E " I " " SIZE2 " " MTIME2 "\n"      (SIZE2 "x": stat failed)
 *
 * A file is delivered when its E line agrees with its F line. The first
 * that does not (it changed while read) is dropped with every later file,
 * whose data may have moved; files without an E line are dropped too
 * (the caller reads them on its own). A file that changed size makes the
 * data section longer or shorter than the F lines say, which is -EPROTO
 * unless the bytes happen to line up, and then its E line disagrees.
 * F indexes increase, then E indexes increase; an E line without an F
 * line is ignored.
 *
 * Trusts nothing: lines are bounded, numbers checked, SIZE <= MAX_EACH,
 * the data of all files <= MAX_TOTAL; anything else is -EPROTO, and what
 * was delivered before stands. Incremental: feed any split of the output
 * (byte by byte too). One thread at a time per reader.
 */
#ifndef PODFS_BATCH_H
#define PODFS_BATCH_H

#include <stddef.h>
#include <stdint.h>

struct hbatch;

/* Called for each file delivered: IDX is 0-based (names[IDX]); DATA is
 * LEN bytes, valid during the call. A non-zero return stops the reader
 * and is returned by hbatch_feed. */
typedef int (*hbatch_cb)(void *arg, size_t idx, const void *data, size_t len);

int hbatch_new(struct hbatch **out, size_t nnames, size_t max_each, uint64_t max_total, hbatch_cb cb, void *arg);
/* 0, -EPROTO (malformed, over a cap), -ENOMEM, or the callback's value. */
int hbatch_feed(struct hbatch *p, const void *data, size_t n);
/* End of output: 0 when it ended between files, else -EPROTO. */
int hbatch_finish(struct hbatch *p);
/* Files delivered and dropped (changed while read) so far. */
size_t hbatch_delivered(const struct hbatch *p);
size_t hbatch_dropped(const struct hbatch *p);
void hbatch_free(struct hbatch *p); /* NULL ok */

#endif
