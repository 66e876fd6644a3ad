/* libxenstore side of the client benchmark (bench/xenstore-client.mjs): the same operations
 * as the TS client, on the daemon named by XENSTORED_PATH, printing one JSON line of
 * nanoseconds per operation (wall time over N sequential calls, as test-xenstore measures).
 *
 *   gcc -O2 -o xs-bench bench/xenstore-client.c -lxenstore
 *   XENSTORED_PATH=/path/to/socket ./xs-bench N
 *
 * libxenstore holds one request in flight per handle (xs_talkv takes the request mutex and
 * waits for the reply), so its sequential rate is also its best single-connection rate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    struct xs_handle *h = xs_open(0);
    unsigned int len, num;
    char path[64];
    double t0;

    if (!h)
        die("xs_open");
    /* The fixture the TS side uses too: one value and a 16-child directory. */
    if (!xs_write(h, XBT_NULL, "/bench/c/key", "value-0123456789", 16))
        die("xs_write setup");
    for (int i = 0; i < 16; i++) {
        snprintf(path, sizeof(path), "/bench/c/dir/child%d", i);
        if (!xs_write(h, XBT_NULL, path, "x", 1))
            die("xs_write setup");
    }

    /* Warm-up, untimed: the first round trips of a connection are slower in every client. */
    for (int i = 0; i < 200; i++)
        free(xs_read(h, XBT_NULL, "/bench/c/key", &len));

    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        char *v = xs_read(h, XBT_NULL, "/bench/c/key", &len);
        if (!v)
            die("xs_read");
        free(v);
    }
    double read_ns = (now_ns() - t0) / n;

    t0 = now_ns();
    for (int i = 0; i < n; i++)
        if (!xs_write(h, XBT_NULL, "/bench/c/w", "value-0123456789", 16))
            die("xs_write");
    double write_ns = (now_ns() - t0) / n;

    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        char **d = xs_directory(h, XBT_NULL, "/bench/c/dir", &num);
        if (!d)
            die("xs_directory");
        free(d);
    }
    double dir_ns = (now_ns() - t0) / n;

    /* A read-modify-write transaction: start, read, write, commit (4 round trips). */
    int tx_n = n / 4 > 0 ? n / 4 : 1;
    t0 = now_ns();
    for (int i = 0; i < tx_n; i++) {
        xs_transaction_t t = xs_transaction_start(h);
        if (t == XBT_NULL)
            die("xs_transaction_start");
        char *v = xs_read(h, t, "/bench/c/key", &len);
        if (!v)
            die("xs_read in transaction");
        if (!xs_write(h, t, "/bench/c/key", v, len))
            die("xs_write in transaction");
        free(v);
        if (!xs_transaction_end(h, t, false))
            die("xs_transaction_end");
    }
    double tx_ns = (now_ns() - t0) / tx_n;

    printf("{\"read\":%.0f,\"write\":%.0f,\"directory\":%.0f,\"transaction\":%.0f}\n", read_ns, write_ns, dir_ns, tx_ns);
    xs_close(h);
    return 0;
}
