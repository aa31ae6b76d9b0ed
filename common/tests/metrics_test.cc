// The metrics writer's text format, and the metrics HTTP server over real
// loopback sockets. The clients are plain blocking POSIX sockets with a
// deadline on every read, so they share no code with the server under test
// and no test can hang.

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/Metrics.h"
#include "common/MetricsServer.h"

using namespace mos;
using namespace mos::common;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return s;
}

class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() { close(); }

  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  // False once the server has closed its end (EPIPE, ECONNRESET).
  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one response (a header only, for HEAD). Empty when the server
  // closed the connection first or nothing complete arrived in time.
  std::optional<HttpReply> read_reply(bool head = false, Clock::duration limit = 5s) {
    const auto deadline = Clock::now() + limit;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (fill(deadline) <= 0) {
        return std::nullopt;
      }
    }
    HttpReply r;
    const std::string head_text = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    std::size_t line_end = head_text.find("\r\n");
    const std::string status_line = head_text.substr(0, line_end);
    REQUIRE(status_line.starts_with("HTTP/1."));
    r.status = std::stoi(status_line.substr(9, 3));
    for (std::size_t pos = line_end + 2; pos < head_text.size();) {
      const std::size_t eol = head_text.find("\r\n", pos);
      const std::string line = head_text.substr(pos, eol - pos);
      const std::size_t colon = line.find(':');
      REQUIRE(colon != std::string::npos);
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[lower(line.substr(0, colon))] = value;
      pos = eol + 2;
    }
    if (!head) {
      const std::size_t len = std::stoul(
          r.header("content-length").empty() ? std::string("0") : r.header("content-length"));
      while (buf_.size() < len) {
        if (fill(deadline) <= 0) {
          return std::nullopt;
        }
      }
      r.body = buf_.substr(0, len);
      buf_.erase(0, len);
    }
    return r;
  }

  // True when the server closes the connection (EOF or reset) within
  // `limit`; whatever it sends before is discarded.
  bool closed_within(Clock::duration limit) {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      const int r = fill(deadline);
      if (r == 0 || r == -1) {
        return true;
      }
      if (r == -2) {
        return false;
      }
    }
  }

 private:
  // >0 bytes appended, 0 EOF, -1 error (reset), -2 deadline passed.
  int fill(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) {
      return -2;
    }
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (ready == 0) {
      return -2;
    }
    char tmp[4096];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0) {
      return -1;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return static_cast<int>(n);
  }

  int fd_ = -1;
  std::string buf_;
};

// A server on an ephemeral loopback port with its own io thread. The thread
// runs for at most 30 s, so a server bug fails the test instead of hanging it.
class Harness {
 public:
  explicit Harness(MetricsServerOptions options = {})
      : work_(io_.get_executor()), server_(io_, "127.0.0.1", 0, std::move(options)) {}
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;
  ~Harness() {
    asio::post(io_, [this] { server_.stop(); });
    work_.reset();
    if (runner_.joinable()) {
      runner_.join();
    }
  }

  // Add sources before start(): afterwards the server belongs to the io thread.
  MetricsServer& server() { return server_; }

  std::uint16_t start() {
    auto started = server_.start();
    REQUIRE_MESSAGE(started.has_value(), (started ? "" : started.error()));
    port_ = server_.bound_port();
    REQUIRE(port_ != 0);
    runner_ = std::thread([this] { io_.run_for(30s); });
    return port_;
  }
  std::uint16_t port() const { return port_; }
  // Runs `f` on the io thread and waits for it.
  void on_io(std::function<void()> f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    REQUIRE(done.get_future().wait_for(5s) == std::future_status::ready);
  }

 private:
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  MetricsServer server_;
  std::thread runner_;
  std::uint16_t port_ = 0;
};

std::string get(std::string_view path, std::string_view extra = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: localhost\r\n{}\r\n", path, extra);
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

// The value of an unlabelled sample line `name value`.
std::optional<double> sample_value(const std::string& body, const std::string& name) {
  const auto pos = body.find("\n" + name + " ");
  if (pos == std::string::npos) {
    return std::nullopt;
  }
  return std::stod(body.substr(pos + name.size() + 2));
}

}  // namespace

// ---- MetricsWriter ---------------------------------------------------------

TEST_CASE("metrics writer: families, labels and suffixed samples") {
  MetricsWriter w;
  w.family("mosix_link_up", "1 when the peer link is up", MetricType::kGauge);
  w.sample("mosix_link_up", {{"peer", "node2"}}, 1);
  w.sample("mosix_link_up", {{"peer", "node3"}}, 0.0);
  w.family("mosix_frames_sent_total", "Frames sent", MetricType::kCounter);
  w.sample("mosix_frames_sent_total", {{"peer", "node2"}, {"type", "ping"}},
           std::numeric_limits<std::uint64_t>::max());
  w.family("mosix_rtt_seconds", "Round trip time", MetricType::kHistogram);
  w.sample("mosix_rtt_seconds_bucket", {{"le", "0.1"}}, 3);
  w.sample("mosix_rtt_seconds_bucket", {{"le", "+Inf"}}, 4);
  w.sample("mosix_rtt_seconds_sum", 0.25);
  w.sample("mosix_rtt_seconds_count", 4);
  w.family("mosix_load", "Load quantiles", MetricType::kSummary);
  w.sample("mosix_load", {{"quantile", "0.5"}}, 0.75);
  w.sample("mosix_load_count", 1);
  const std::vector<MetricLabel> dynamic = {{"node", "a"}};
  w.family("mosix_misc", "Untyped", MetricType::kUntyped);
  w.sample("mosix_misc", dynamic, -3);
  CHECK(w.text() ==
        "# HELP mosix_link_up 1 when the peer link is up\n"
        "# TYPE mosix_link_up gauge\n"
        "mosix_link_up{peer=\"node2\"} 1\n"
        "mosix_link_up{peer=\"node3\"} 0\n"
        "# HELP mosix_frames_sent_total Frames sent\n"
        "# TYPE mosix_frames_sent_total counter\n"
        "mosix_frames_sent_total{peer=\"node2\",type=\"ping\"} 18446744073709551615\n"
        "# HELP mosix_rtt_seconds Round trip time\n"
        "# TYPE mosix_rtt_seconds histogram\n"
        "mosix_rtt_seconds_bucket{le=\"0.1\"} 3\n"
        "mosix_rtt_seconds_bucket{le=\"+Inf\"} 4\n"
        "mosix_rtt_seconds_sum 0.25\n"
        "mosix_rtt_seconds_count 4\n"
        "# HELP mosix_load Load quantiles\n"
        "# TYPE mosix_load summary\n"
        "mosix_load{quantile=\"0.5\"} 0.75\n"
        "mosix_load_count 1\n"
        "# HELP mosix_misc Untyped\n"
        "# TYPE mosix_misc untyped\n"
        "mosix_misc{node=\"a\"} -3\n");

  // take() hands out the text and starts afresh: a family may be declared again.
  const std::string first = w.take();
  CHECK(first.starts_with("# HELP mosix_link_up "));
  CHECK(w.text().empty());
  w.family("mosix_link_up", "again", MetricType::kGauge);
  w.sample("mosix_link_up", 2);
  CHECK(w.text() == "# HELP mosix_link_up again\n# TYPE mosix_link_up gauge\nmosix_link_up 2\n");
}

TEST_CASE("metrics writer: values are spelled as Prometheus parses them") {
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(MetricValue(std::nan("")).to_string() == "NaN");
  CHECK(MetricValue(inf).to_string() == "+Inf");
  CHECK(MetricValue(-inf).to_string() == "-Inf");
  CHECK(MetricValue(0.0).to_string() == "0");
  CHECK(MetricValue(-0.0).to_string() == "0");
  CHECK(MetricValue(1e6).to_string() == "1000000");
  CHECK(MetricValue(-42.0).to_string() == "-42");
  CHECK(MetricValue(1.5).to_string() == "1.5");
  CHECK(MetricValue(0.1).to_string() == "0.1");
  CHECK(MetricValue(2.5e-7).to_string() == "2.5e-07");
  CHECK(MetricValue(1e300).to_string() == "1e+300");
  CHECK(MetricValue(-9223372036854775808.0).to_string() == "-9223372036854775808");
  CHECK(MetricValue(9223372036854775808.0).to_string() == "9.223372036854776e+18");
  CHECK(MetricValue(std::numeric_limits<std::int64_t>::min()).to_string() ==
        "-9223372036854775808");
  CHECK(MetricValue(std::int64_t{9007199254740993}).to_string() == "9007199254740993");
  CHECK(MetricValue(std::uint64_t{18446744073709551615u}).to_string() == "18446744073709551615");
  CHECK(MetricValue(true).to_string() == "1");
  CHECK(MetricValue(7u).to_string() == "7");
  CHECK(MetricValue(1.5f).to_string() == "1.5");
}

TEST_CASE("metrics writer: label values and help text are escaped") {
  CHECK(escape_label_value("plain") == "plain");
  CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(escape_help("say \"hi\"\\\nbye") == "say \"hi\"\\\\\\nbye");
  MetricsWriter w;
  w.family("m", "help with \\ and\nnewline", MetricType::kGauge);
  w.sample("m",
           {{"path", "C:\\tmp\\\"x\"\n"},
            {"utf8",
             "n\xc3\xb6"
             "de"}},
           1);
  CHECK(w.text() ==
        "# HELP m help with \\\\ and\\nnewline\n"
        "# TYPE m gauge\n"
        "m{path=\"C:\\\\tmp\\\\\\\"x\\\"\\n\",utf8=\"n\xc3\xb6"
        "de\"} 1\n");
}

TEST_CASE("metrics writer: metric and label name rules") {
  CHECK(valid_metric_name("mosix_link_up"));
  CHECK(valid_metric_name("a:b_c1"));
  CHECK(valid_metric_name(":x"));
  CHECK(valid_metric_name("_x"));
  CHECK_FALSE(valid_metric_name(""));
  CHECK_FALSE(valid_metric_name("1abc"));
  CHECK_FALSE(valid_metric_name("a-b"));
  CHECK_FALSE(valid_metric_name("a b"));
  CHECK_FALSE(valid_metric_name("n\xc3\xb6"));
  CHECK(valid_label_name("peer"));
  CHECK(valid_label_name("_x1"));
  CHECK_FALSE(valid_label_name(""));
  CHECK_FALSE(valid_label_name("__name__"));
  CHECK_FALSE(valid_label_name("a:b"));
  CHECK_FALSE(valid_label_name("9a"));
  CHECK_FALSE(valid_label_name("a.b"));
}

// ---- MetricsServer ---------------------------------------------------------

TEST_CASE("metrics server: a scrape returns the built-in families and every source's") {
  Harness h;
  h.server().add_source([](MetricsWriter& w) {
    w.family("mosix_link_up", "1 when the peer link is up", MetricType::kGauge);
    w.sample("mosix_link_up", {{"peer", "node2"}}, 1);
    w.sample("mosix_link_up", {{"peer", "we\"ird\\\nname"}}, 0);
  });
  h.server().add_source([](MetricsWriter& w) {
    w.family("mosix_frames_sent_total", "Frames sent on peer links", MetricType::kCounter);
    w.sample("mosix_frames_sent_total", 12345);
  });
  Client c(h.start());
  REQUIRE(c.send(get("/metrics")));
  auto r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("content-type") == kMetricsContentType);
  const std::string& b = r->body;
  CHECK(b.starts_with("# HELP mosix_build_info "));
  CHECK(b.find("\nmosix_build_info{version=\"0.1\"} 1\n") != std::string::npos);
  CHECK(b.find("# TYPE process_start_time_seconds gauge\n") != std::string::npos);
  const auto start = sample_value(b, "process_start_time_seconds");
  REQUIRE(start);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(*start <= now + 1);
  CHECK(*start > now - 24 * 3600);  // this test process started recently
  CHECK(b.find("# TYPE mosix_metrics_scrapes_total counter\nmosix_metrics_scrapes_total 1\n") !=
        std::string::npos);
  CHECK(
      b.ends_with("# HELP mosix_link_up 1 when the peer link is up\n"
                  "# TYPE mosix_link_up gauge\n"
                  "mosix_link_up{peer=\"node2\"} 1\n"
                  "mosix_link_up{peer=\"we\\\"ird\\\\\\nname\"} 0\n"
                  "# HELP mosix_frames_sent_total Frames sent on peer links\n"
                  "# TYPE mosix_frames_sent_total counter\n"
                  "mosix_frames_sent_total 12345\n"));
  // Every family has exactly one HELP and one TYPE line; every line ends.
  CHECK(count(b, "# TYPE ") == 7);
  CHECK(count(b, "# HELP ") == 7);
  CHECK(count(b, "# TYPE mosix_link_up ") == 1);
  CHECK(b.back() == '\n');

  // The scrape counter counts this scrape too.
  REQUIRE(c.send(get("/metrics")));
  r = c.read_reply();
  REQUIRE(r);
  CHECK(sample_value(r->body, "mosix_metrics_scrapes_total") == 2);
}

TEST_CASE("metrics server: HEAD sends the headers of GET and no body") {
  Harness h;
  Client c(h.start());
  REQUIRE(c.send(fmt::format("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")));
  auto head = c.read_reply(/*head=*/true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("content-type") == kMetricsContentType);
  const std::string head_length = head->header("content-length");
  CHECK(std::stoul(head_length) > 100);
  // Had a body followed, this GET's reply would be read from the middle of it.
  REQUIRE(c.send(get("/metrics")));
  auto full = c.read_reply();
  REQUIRE(full);
  CHECK(full->status == 200);
  CHECK(full->body.starts_with("# HELP "));
  // Scrape counts 1 and 2 have the same width, so the lengths must agree.
  CHECK(full->body.size() == std::stoul(head_length));
  REQUIRE(c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto index = c.read_reply(true);
  REQUIRE(index);
  CHECK(index->status == 200);
}

TEST_CASE("metrics server: other paths get 404 and other methods 405") {
  Harness h;
  Client c(h.start());
  REQUIRE(c.send(get("/nope")));
  auto r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 404);
  // Error replies to well-formed requests keep the connection usable.
  REQUIRE(c.send(get("/metricsx")));
  r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 404);
  REQUIRE(c.send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 405);
  CHECK(r->header("allow") == "GET, HEAD");
  REQUIRE(c.send("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 405);
  REQUIRE(c.send("BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 405);
  REQUIRE(c.send(get("/")));
  r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("content-type").starts_with("text/html"));
  CHECK(r->body.find("href=\"/metrics\"") != std::string::npos);
  REQUIRE(c.send(get("/metrics?name[]=x")));
  r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("metrics server: malformed requests get a 4xx or a close, and serving goes on") {
  Harness h;
  const std::uint16_t port = h.start();
  struct Case {
    const char* name;
    std::string request;
    int want;  // 0: any 4xx, or a close without a reply
  };
  const std::vector<Case> cases = {
      {"binary garbage", std::string("\x01\x02\x00\xff hello\r\n\r\n", 13), 400},
      {"no version", "GET /metrics\r\n\r\n", 400},
      {"bad version", "GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n", 400},
      {"header without colon", "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", 400},
      {"bad content length", "GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"huge header", get("/metrics", "X-Big: " + std::string(9000, 'a') + "\r\n"), 431},
      {"huge request line", "GET /" + std::string(10000, 'm') + " HTTP/1.1\r\n\r\n", 431},
      {"many headers",
       get("/metrics",
           [] {
             std::string s;
             for (int i = 0; i < 1000; ++i) {
               s += fmt::format("X-{}: y\r\n", i);
             }
             return s;
           }()),
       431},
      {"a body", "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789", 413},
      {"a chunked body",
       "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
       "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
       413},
      {"lone newlines", std::string(5000, '\n'), 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Client client(port);
    client.send(c.request);  // the server may close before it has all of it
    auto r = client.read_reply(false, 3s);
    if (c.want != 0 || r) {
      REQUIRE(r);
      if (c.want != 0) {
        CHECK(r->status == c.want);
      } else {
        CHECK(r->status >= 400);
        CHECK(r->status < 500);
      }
      CHECK(lower(r->header("connection")) == "close");
    }
    CHECK(client.closed_within(3s));
  }
  {
    // A client that gives up halfway through a request.
    Client quitter(port);
    quitter.send("GET /metr");
  }
  Client after(port);
  REQUIRE(after.send(get("/metrics")));
  auto r = after.read_reply();
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("metrics server: keep-alive serves several requests on one connection") {
  Harness h;
  const std::uint16_t port = h.start();
  {
    Client c(port);
    for (int i = 1; i <= 3; ++i) {
      REQUIRE(c.send(get("/metrics")));
      auto r = c.read_reply();
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(lower(r->header("connection")) != "close");
    }
    // Pipelined: two requests in one write, two replies in order.
    REQUIRE(c.send(get("/nope") + get("/metrics")));
    auto first = c.read_reply();
    auto second = c.read_reply();
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->status == 404);
    CHECK(second->status == 200);
    CHECK(sample_value(second->body, "mosix_metrics_scrapes_total") == 4);
  }
  {
    // HTTP/1.1 with Connection: close: one reply, then the server closes.
    Client c(port);
    REQUIRE(c.send(get("/metrics", "Connection: close\r\n")));
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(lower(r->header("connection")) == "close");
    CHECK(c.closed_within(3s));
  }
  {
    // HTTP/1.0 closes by default, and keeps alive when asked.
    Client c(port);
    REQUIRE(c.send("GET /metrics HTTP/1.0\r\n\r\n"));
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(c.closed_within(3s));
    Client k(port);
    for (int i = 0; i < 2; ++i) {
      REQUIRE(k.send("GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      r = k.read_reply();
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(lower(r->header("connection")) == "keep-alive");
    }
  }
}

TEST_CASE("metrics server: silent and slow clients are disconnected after the timeout") {
  MetricsServerOptions options;
  options.timeout = 200ms;
  Harness h(options);
  const std::uint16_t port = h.start();
  {
    Client silent(port);
    const auto t0 = Clock::now();
    CHECK(silent.closed_within(3s));
    const auto took = Clock::now() - t0;
    CHECK(took >= 150ms);
    CHECK(took < 2s);
  }
  {
    // A slow-loris client trickles a valid request a byte at a time; the
    // deadline covers the whole request, so it is cut off all the same.
    Client slow(port);
    const std::string req = get("/metrics", "User-Agent: " + std::string(100, 's') + "\r\n");
    const auto t0 = Clock::now();
    bool cut_off = false;
    for (char ch : req) {
      if (!slow.send(std::string_view(&ch, 1)) || slow.closed_within(20ms)) {
        cut_off = true;
        break;
      }
    }
    CHECK(cut_off);
    CHECK(Clock::now() - t0 < 2s);
  }
  {
    // Idle between keep-alive requests counts too.
    Client idle(port);
    REQUIRE(idle.send(get("/metrics")));
    auto r = idle.read_reply();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(idle.closed_within(3s));
  }
  Client fine(port);
  REQUIRE(fine.send(get("/metrics")));
  auto r = fine.read_reply();
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("metrics server: connections beyond the cap are closed at once") {
  MetricsServerOptions options;
  options.max_connections = 2;
  Harness h(options);
  const std::uint16_t port = h.start();
  auto a = std::make_unique<Client>(port);
  Client b(port);
  // A reply on each proves both are accepted and hold their slots.
  for (Client* c : {a.get(), &b}) {
    REQUIRE(c->send(get("/metrics")));
    auto r = c->read_reply();
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  {
    Client excess(port);
    const auto t0 = Clock::now();
    CHECK(excess.closed_within(2s));
    CHECK(Clock::now() - t0 < 1s);
  }
  // The held connections are unaffected.
  REQUIRE(b.send(get("/metrics")));
  auto r = b.read_reply();
  REQUIRE(r);
  CHECK(r->status == 200);
  const auto rejected = sample_value(r->body, "mosix_metrics_connections_rejected_total");
  CHECK(rejected == 1);

  // A slot freed is a slot available again (once the server has seen the close).
  a.reset();
  std::optional<HttpReply> later;
  const auto deadline = Clock::now() + 3s;
  while (!later && Clock::now() < deadline) {
    Client c(port);
    if (c.send(get("/metrics"))) {
      later = c.read_reply(false, 1s);
    }
    if (!later) {
      std::this_thread::sleep_for(20ms);
    }
  }
  REQUIRE(later);
  CHECK(later->status == 200);
}

TEST_CASE("metrics server: a source that throws fails the scrape with 500, then serving goes on") {
  Harness h;
  std::atomic<int> mode{1};  // 1: std exception, 2: anything else, 0: fine
  h.server().add_source([&mode](MetricsWriter& w) {
    w.family("mosix_ok", "Written before the failure", MetricType::kGauge);
    w.sample("mosix_ok", 1);
    if (mode == 1) {
      throw std::runtime_error("link table is gone");
    }
    if (mode == 2) {
      throw 42;
    }
  });
  Client c(h.start());
  for (int m : {1, 2}) {
    mode = m;
    REQUIRE(c.send(get("/metrics")));
    auto r = c.read_reply();
    REQUIRE(r);
    CHECK(r->status == 500);
    CHECK(r->body.find("mosix_ok") == std::string::npos);
  }
  mode = 0;
  REQUIRE(c.send(get("/metrics")));
  auto r = c.read_reply();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(sample_value(r->body, "mosix_metrics_scrape_errors_total") == 2);
  CHECK(sample_value(r->body, "mosix_ok") == 1);
}

TEST_CASE("metrics server: stop closes open connections; start reports what went wrong") {
  Harness h;
  const std::uint16_t port = h.start();
  {
    asio::io_context io;
    MetricsServer busy(io, "127.0.0.1", port);
    auto r = busy.start();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().find(fmt::format("127.0.0.1:{}", port)) != std::string::npos);
    MetricsServer bad(io, "not-an-address", 0);
    r = bad.start();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().find("not-an-address") != std::string::npos);
    CHECK(bad.bound_port() == 0);
  }
  Client c(port);
  REQUIRE(c.send(get("/metrics")));
  REQUIRE(c.read_reply());
  h.on_io([&] { h.server().stop(); });
  CHECK(c.closed_within(2s));
  CHECK(h.server().bound_port() == 0);
}
