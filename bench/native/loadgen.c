/*
 * The load generator's data plane, in C: at a million deliveries a second the JavaScript one
 * took most of its core, and the bench must never be limited by what measures it. bench/loadgen.ts
 * starts this process, hands it the clients and relays the orchestrator's commands; this file
 * only connects, subscribes, reads and counts, exactly as the JavaScript path does for each of
 * its protocols (see `session` in bench/loadgen.ts, and bench/stamps.ts).
 *
 * stdin, one command a line:
 *   client INDEX SAMPLED STALLED HOST PORT PATH PROTOCOL OPEN ANSWER
 *                     a client: PROTOCOL json, socketio or mqtt; OPEN the message it sends once
 *                     the WebSocket is open, ANSWER the one it sends when the server is ready
 *                     for its subscription (socket.io's "40", MQTT's CONNACK); both in hex, or -
 *   connect           open every client given; prints "subscribed" or "failed MESSAGE"
 *   start             zero the counters, start the CPU and wall clocks
 *   count             prints "count DELIVERIES"
 *   report            prints "result …" (CPU without, then with, the polling of quiet sockets), one
 *                     "closed CODE COUNT" per close code, "samples N",
 *                     N lines "KEY RECEIVED COUNT", then "end"
 * Receipt times are ms since the epoch, sub-ms, from CLOCK_REALTIME: Node's `timeOrigin + now()`
 * in the other processes is the same clock as of their start (the caller's time sent over the
 * pipe would lag by the pipe's delay).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_BUFFER (256 * 1024)
#define CONNECT_CONCURRENCY 100
#define MAX_PAYLOAD (100u << 20)
#define MAX_HEAD (64 * 1024)
#define MAX_CLOSE_CODES 64
/*
 * How long the loop keeps polling after the sockets went quiet before it sleeps in epoll_wait.
 * On loopback a write to a socket whose reader sleeps pays for waking that reader, in the
 * writer's CPU time, while a client on another machine wakes on that machine: polling through
 * the gaps between a server's writes keeps that cost out of the server's figures, as in a
 * deployment (bench/README.md has the measurement).
 */
#define POLL_MS 0.2

static const char QUOTE[] = "\"type\":\"quote\"";
static const char SUBSCRIBED[] = "\"type\":\"subscribed\"";
static const char TS[] = "\"ts\":\"";
#define ISO_LENGTH 24

enum state { IDLE, CONNECTING, HANDSHAKE, OPEN, CLOSED };
enum protocol { JSON, SOCKETIO, MQTT };

struct buf {
  unsigned char *data;
  size_t len, cap;
};

struct client {
  int index, sampled, stalled, fd, ready;
  enum state state;
  enum protocol protocol;
  char *host, *path;
  struct buf open, answer;
  int port;
  struct buf pending; /* bytes of a frame (or the response head) not yet whole */
  struct buf message; /* fragments of a message not yet ended */
  int message_open;
  int close_code;
};

static struct client *clients;
static int client_count, client_cap;
static int epfd;
static unsigned char shared[READ_BUFFER];

static long long deliveries, frames, wire_bytes;
static double last_receipt, start_wall;
/* CPU spent polling quiet sockets since `start`: waiting, not work, so not reported as load. */
static double polling_cpu;
static struct rusage start_usage;
static int close_codes[MAX_CLOSE_CODES], close_counts[MAX_CLOSE_CODES], close_kinds;

static double *samples;
static size_t sample_count, sample_cap;

static int next_connect, connecting, subscribed, reported_subscribed, failed;

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
  printf("failed %s: %s\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

static void append(struct buf *b, const unsigned char *data, size_t len) {
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len) cap *= 2;
    b->data = realloc(b->data, cap);
    if (!b->data) die("realloc");
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
}

static void fail(const char *message) {
  if (failed) return;
  failed = 1;
  printf("failed %s\n", message);
  fflush(stdout);
}

/* A masked client frame (RFC 6455 §5.3); the mask key need not be secret towards a test server. */
static void send_frame(struct client *c, int opcode, const unsigned char *payload, size_t len) {
  unsigned char head[14];
  size_t h = 0;
  head[h++] = 0x80 | opcode;
  if (len < 126) head[h++] = 0x80 | len;
  else if (len < 65536) {
    head[h++] = 0x80 | 126;
    head[h++] = len >> 8;
    head[h++] = len & 0xff;
  } else {
    head[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) head[h++] = (uint64_t)len >> (8 * i);
  }
  const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  memcpy(head + h, mask, 4);
  h += 4;
  unsigned char *frame = malloc(h + len);
  memcpy(frame, head, h);
  for (size_t i = 0; i < len; i++) frame[h + i] = payload[i] ^ mask[i & 3];
  /* Small frames on a socket that has sent little: a short write does not happen here. No
   * SIGPIPE: a socket the server has just closed reports it on the next read instead. */
  send(c->fd, frame, h + len, MSG_NOSIGNAL);
  free(frame);
}

static long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long long)doe - 719468;
}

static int digits(const unsigned char *p, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

/* The millisecond of an ISO instant `2026-11-30T21:00:00.000Z`, NaN if it is not one. */
static double iso_ms(const unsigned char *p) {
  int y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2), h = digits(p + 11, 2),
      mi = digits(p + 14, 2), s = digits(p + 17, 2), ms = digits(p + 20, 3);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || ms < 0 || p[23] != 'Z') return 0.0 / 0.0;
  return ((double)days_from_civil(y, mo, d) * 86400.0 + h * 3600 + mi * 60 + s) * 1000.0 + ms;
}

static void record(double key, double received, double count) {
  if (sample_count + 3 > sample_cap) {
    sample_cap = sample_cap ? sample_cap * 2 : 3 * 65536;
    samples = realloc(samples, sample_cap * sizeof(double));
    if (!samples) die("realloc");
  }
  samples[sample_count++] = key;
  samples[sample_count++] = received;
  samples[sample_count++] = count;
}

/* One sample per run of equal `ts` values in a message, as bench/stamps.ts recordStamps does. */
static void record_stamps(const unsigned char *data, size_t len, double received) {
  const unsigned char *run = NULL;
  int count = 0;
  const unsigned char *end = data + len;
  for (const unsigned char *p = memmem(data, len, TS, sizeof TS - 1); p;
       p = memmem(p + sizeof TS - 1, end - p - (sizeof TS - 1), TS, sizeof TS - 1)) {
    const unsigned char *at = p + sizeof TS - 1;
    if (at + ISO_LENGTH > end) break;
    if (run && memcmp(run, at, ISO_LENGTH) == 0) {
      count++;
      continue;
    }
    if (run) record(iso_ms(run), received, count);
    run = at;
    count = 1;
  }
  if (run) record(iso_ms(run), received, count);
}

static long long count_quotes(const unsigned char *data, size_t len) {
  long long n = 0;
  const unsigned char *end = data + len;
  for (const unsigned char *p = memmem(data, len, QUOTE, sizeof QUOTE - 1); p;
       p = memmem(p + 1, end - p - 1, QUOTE, sizeof QUOTE - 1))
    n++;
  return n;
}

static void stop_reading(struct client *c) { epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL); }

/* What a client sends back to a message, by protocol, whether subscribed yet or not. */
static void reply(struct client *c, const unsigned char *data, size_t len) {
  if (c->protocol == SOCKETIO) {
    /* Engine.io: "0{…}" open → connect the namespace with "40"; "40{…}" → subscribe; "2" → "3". */
    if (len >= 1 && data[0] == '0' && (len < 2 || data[1] != '4')) send_frame(c, 1, (const unsigned char *)"40", 2);
    else if (len >= 2 && data[0] == '4' && data[1] == '0') send_frame(c, 1, c->answer.data, c->answer.len);
    else if (len == 1 && data[0] == '2') send_frame(c, 1, (const unsigned char *)"3", 1);
  } else if (c->protocol == MQTT && len >= 1 && data[0] == 0x20)
    send_frame(c, 2, c->answer.data, c->answer.len);
}

static int is_subscribed(const struct client *c, const unsigned char *data, size_t len) {
  switch (c->protocol) {
    case JSON:
      return memmem(data, len, SUBSCRIBED, sizeof SUBSCRIBED - 1) != NULL;
    case SOCKETIO:
      return memmem(data, len, "\"subscribed\"", 12) != NULL;
    case MQTT:
      return len >= 1 && data[0] == 0x90;
  }
  return 0;
}

static void message(struct client *c, const unsigned char *data, size_t len, size_t header, double at) {
  reply(c, data, len);
  if (!c->ready) {
    if (!is_subscribed(c, data, len)) return;
    c->ready = 1;
    /* A stalled client stops reading: the server sees TCP back-pressure, as from a slow phone. */
    if (c->stalled) stop_reading(c);
    subscribed++;
    return;
  }
  frames++;
  wire_bytes += len + header;
  long long n = count_quotes(data, len);
  if (n == 0) return;
  deliveries += n;
  last_receipt = at;
  if (c->sampled) record_stamps(data, len, at);
}

static void close_client(struct client *c, int code) {
  if (c->state == CLOSED) return;
  c->state = CLOSED;
  stop_reading(c);
  close(c->fd);
  if (!c->ready) {
    char text[128];
    snprintf(text, sizeof text, "client %d closed with %d before subscribing", c->index, code);
    fail(text);
    return;
  }
  int k = 0;
  while (k < close_kinds && close_codes[k] != code) k++;
  if (k == close_kinds && close_kinds < MAX_CLOSE_CODES) close_codes[close_kinds++] = code;
  if (k < MAX_CLOSE_CODES) close_counts[k]++;
}

/* Handles the whole frames at the start of `data`; returns how many bytes they took. */
static size_t frames_in(struct client *c, const unsigned char *data, size_t len, double at) {
  size_t used = 0;
  while (c->state == OPEN && len - used >= 2) {
    const unsigned char *p = data + used;
    size_t avail = len - used, h = 2;
    int fin = p[0] & 0x80, opcode = p[0] & 0x0f;
    uint64_t n = p[1] & 0x7f;
    if (p[1] & 0x80) {
      close_client(c, 1002);
      return len;
    }
    if (n == 126) {
      if (avail < 4) break;
      n = (p[2] << 8) | p[3];
      h = 4;
    } else if (n == 127) {
      if (avail < 10) break;
      n = 0;
      for (int i = 0; i < 8; i++) n = (n << 8) | p[2 + i];
      h = 10;
    }
    if (n > MAX_PAYLOAD) {
      close_client(c, 1009);
      return len;
    }
    if (avail < h + n) break;
    const unsigned char *payload = p + h;
    used += h + n;
    if (opcode == 8) {
      int code = n >= 2 ? (payload[0] << 8) | payload[1] : 1005;
      send_frame(c, 8, payload, n >= 2 ? 2 : 0);
      close_client(c, code);
      return len;
    }
    if (opcode == 9) {
      send_frame(c, 10, payload, n);
      continue;
    }
    if (opcode == 10) continue;
    if (!fin || opcode == 0) {
      append(&c->message, payload, n);
      c->message_open = !fin;
      if (fin) {
        message(c, c->message.data, c->message.len, h, at);
        c->message.len = 0;
      }
      continue;
    }
    message(c, payload, n, h, at);
  }
  return used;
}

static void add_epoll(struct client *c, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)(c - clients)};
  if (epoll_ctl(epfd, op, c->fd, &ev) < 0) die("epoll_ctl");
}

static void start_connect(struct client *c) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(c->port)};
  if (inet_pton(AF_INET, c->host, &addr.sin_addr) != 1) {
    struct hostent *he = gethostbyname(c->host);
    if (!he) {
      fail("cannot resolve the server's host");
      return;
    }
    memcpy(&addr.sin_addr, he->h_addr_list[0], 4);
  }
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) die("socket");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) die("connect");
  c->state = CONNECTING;
  connecting++;
  add_epoll(c, EPOLLOUT, EPOLL_CTL_ADD);
}

static void connect_more(void) {
  while (connecting < CONNECT_CONCURRENCY && next_connect < client_count) start_connect(&clients[next_connect++]);
}

static void on_connected(struct client *c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) {
    errno = err;
    die("connect");
  }
  char head[1024];
  int n = snprintf(head, sizeof head,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                   c->path, c->host, c->port, c->protocol == MQTT ? "Sec-WebSocket-Protocol: mqtt\r\n" : "");
  if (send(c->fd, head, n, MSG_NOSIGNAL) != n) die("write");
  c->state = HANDSHAKE;
  add_epoll(c, EPOLLIN, EPOLL_CTL_MOD);
}

static void on_handshake(struct client *c, const unsigned char *data, size_t len, double at) {
  append(&c->pending, data, len);
  unsigned char *end = memmem(c->pending.data, c->pending.len, "\r\n\r\n", 4);
  if (!end) {
    if (c->pending.len > MAX_HEAD) fail("the server's response head never ended");
    return;
  }
  if (c->pending.len < 12 || memcmp(c->pending.data + 9, "101", 3) != 0) {
    fail("the server refused the WebSocket upgrade");
    return;
  }
  size_t rest = c->pending.len - (end + 4 - c->pending.data);
  memmove(c->pending.data, end + 4, rest);
  c->pending.len = rest;
  c->state = OPEN;
  connecting--;
  if (c->open.len > 0) send_frame(c, c->protocol == MQTT ? 2 : 1, c->open.data, c->open.len);
  if (rest > 0) {
    size_t used = frames_in(c, c->pending.data, c->pending.len, at);
    memmove(c->pending.data, c->pending.data + used, c->pending.len - used);
    c->pending.len -= used;
  }
  connect_more();
}

static void on_readable(struct client *c) {
  for (;;) {
    ssize_t n = read(c->fd, shared, sizeof shared);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      close_client(c, 1006);
      return;
    }
    if (n < 0) return;
    double at = now_ms();
    if (c->state == HANDSHAKE) on_handshake(c, shared, n, at);
    else if (c->pending.len > 0) {
      append(&c->pending, shared, n);
      size_t used = frames_in(c, c->pending.data, c->pending.len, at);
      if (c->state != OPEN) return;
      memmove(c->pending.data, c->pending.data + used, c->pending.len - used);
      c->pending.len -= used;
    } else {
      size_t used = frames_in(c, shared, n, at);
      if (c->state != OPEN) return;
      if (used < (size_t)n) append(&c->pending, shared + used, n - used);
    }
    if (c->state != OPEN && c->state != HANDSHAKE) return;
    if (c->stalled && c->ready) return;
    /* A short read emptied the socket; a full one may have left more. */
    if ((size_t)n < sizeof shared) return;
  }
}

/* Hex to bytes ("-" is none); false if it is not hex. */
static int unhex(const char *text, struct buf *out) {
  if (strcmp(text, "-") == 0) return 1;
  size_t n = strlen(text);
  if (n % 2) return 0;
  for (size_t i = 0; i < n; i += 2) {
    unsigned int byte;
    if (sscanf(text + i, "%2x", &byte) != 1) return 0;
    unsigned char b = byte;
    append(out, &b, 1);
  }
  return 1;
}

static void add_client(char *line) {
  static char host[256], path[4096], protocol[16], open[1 << 16], answer[1 << 16];
  int index, sampled, stalled, port;
  if (sscanf(line, "client %d %d %d %255s %d %4095s %15s %65535s %65535s", &index, &sampled, &stalled, host, &port,
             path, protocol, open, answer) != 9) {
    fail("a client line does not read");
    return;
  }
  if (client_count == client_cap) {
    client_cap = client_cap ? client_cap * 2 : 1024;
    clients = realloc(clients, client_cap * sizeof *clients);
    if (!clients) die("realloc");
  }
  struct client *c = &clients[client_count++];
  memset(c, 0, sizeof *c);
  c->index = index;
  c->sampled = sampled;
  c->stalled = stalled;
  c->port = port;
  c->host = strdup(host);
  c->path = strdup(path);
  c->protocol = strcmp(protocol, "mqtt") == 0 ? MQTT : strcmp(protocol, "socketio") == 0 ? SOCKETIO : JSON;
  c->fd = -1;
  if (!unhex(open, &c->open) || !unhex(answer, &c->answer)) fail("a client line's messages are not hex");
}

static void report(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double user = (usage.ru_utime.tv_sec - start_usage.ru_utime.tv_sec) * 1e3 +
                (usage.ru_utime.tv_usec - start_usage.ru_utime.tv_usec) / 1e3;
  double sys = (usage.ru_stime.tv_sec - start_usage.ru_stime.tv_sec) * 1e3 +
               (usage.ru_stime.tv_usec - start_usage.ru_stime.tv_usec) / 1e3;
  /* Polling is mostly system calls that found nothing: it comes off both figures in proportion. */
  double busy = user + sys, work = busy - polling_cpu > 0 ? busy - polling_cpu : 0;
  printf("result %lld %lld %lld %.3f %.3f %.3f %.3f %.3f\n", deliveries, frames, wire_bytes, last_receipt, work,
         busy > 0 ? sys * work / busy : 0, mono_ms() - start_wall, busy - work);
  for (int k = 0; k < close_kinds; k++) printf("closed %d %d\n", close_codes[k], close_counts[k]);
  printf("samples %zu\n", sample_count / 3);
  for (size_t i = 0; i < sample_count; i += 3)
    printf("%.0f %.3f %.0f\n", samples[i], samples[i + 1], samples[i + 2]);
  printf("end\n");
  fflush(stdout);
}

static void command(char *line) {
  if (strncmp(line, "client ", 7) == 0) add_client(line);
  else if (strcmp(line, "connect") == 0) connect_more();
  else if (strcmp(line, "start") == 0) {
    deliveries = frames = wire_bytes = 0;
    sample_count = 0;
    polling_cpu = 0;
    getrusage(RUSAGE_SELF, &start_usage);
    start_wall = mono_ms();
    printf("started\n");
    fflush(stdout);
  } else if (strcmp(line, "count") == 0) {
    printf("count %lld\n", deliveries);
    fflush(stdout);
  } else if (strcmp(line, "report") == 0) report();
}

int main(void) {
  static char input[1 << 20];
  size_t input_len = 0;
  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev) < 0) die("epoll_ctl stdin");
  getrusage(RUSAGE_SELF, &start_usage);
  start_wall = mono_ms();
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epfd, events, 256, 0);
    if (n == 0) {
      double from = cpu_ms(), until = mono_ms() + POLL_MS;
      while (n == 0 && mono_ms() < until) n = epoll_wait(epfd, events, 256, 0);
      polling_cpu += cpu_ms() - from;
      if (n == 0) n = epoll_wait(epfd, events, 256, -1);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      if (events[i].data.u32 == UINT32_MAX) {
        ssize_t r = read(0, input + input_len, sizeof input - 1 - input_len);
        if (r == 0) return 0; /* the parent went away: so does every socket */
        if (r < 0) continue;
        input_len += r;
        char *start = input, *nl;
        while ((nl = memchr(start, '\n', input + input_len - start))) {
          *nl = 0;
          command(start);
          start = nl + 1;
        }
        input_len -= start - input;
        memmove(input, start, input_len);
        continue;
      }
      struct client *c = &clients[events[i].data.u32];
      if (c->state == CONNECTING) on_connected(c);
      else if (c->state == HANDSHAKE || c->state == OPEN) on_readable(c);
    }
    if (!reported_subscribed && client_count > 0 && subscribed == client_count && !failed) {
      reported_subscribed = 1;
      printf("subscribed\n");
      fflush(stdout);
    }
  }
}
