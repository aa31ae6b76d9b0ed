#pragma once
// A small HTTP/1.1 server that lets Prometheus scrape a daemon's metrics in
// the text exposition format 0.0.4.
//
//   GET|HEAD /metrics  200, text/plain; version=0.0.4; charset=utf-8
//   GET|HEAD /         200, a page pointing to /metrics
//   other paths        404
//   other methods      405 with `Allow: GET, HEAD`
//   malformed request  400; header too large 431; a request body 413; then
//                      the connection is closed
//   a source throws    500 (the scrape fails, the server carries on)
//
// It runs on the daemon's single io_context thread: sources are called there,
// one scrape at a time, so they may read daemon state without locks.
//
// The network is untrusted: each connection gets `timeout` to deliver each
// whole request (so a slow-loris client that trickles bytes is cut off as
// surely as a silent one) and to take each response; at most
// `max_connections` are open at once, and any beyond that are closed as soon
// as they are accepted. A client that disconnects, stalls or sends garbage
// only ends its own connection, and nothing it sends is asserted on.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "common/Asio.h"
#include "common/Metrics.h"

namespace mos::common {

// Request line plus header fields. A Prometheus scrape sends about 300
// bytes; 8 KiB fits any real client while bounding what garbage may cost.
inline constexpr std::size_t kMetricsMaxHeaderBytes = 8u << 10;

// Requests carry no body: anything announced or sent as a body is refused.
inline constexpr std::uint64_t kMetricsMaxBodyBytes = 0;

// Each request must arrive in full, and each response be taken, within this.
// Long enough for a loaded scraper, short enough that idle or slow-loris
// connections do not pin a slot for long. Scrapers reconnect transparently
// when their idle keep-alive connection has been closed.
inline constexpr std::chrono::seconds kMetricsTimeout{10};

// Open connections at most. A Prometheus pair needs two; the headroom covers
// ad-hoc curls, and the cap keeps a misbehaving scraper from exhausting the
// daemon's file descriptors.
inline constexpr std::size_t kMetricsMaxConnections = 64;

// Before closing after an error (or a `Connection: close` reply) the server
// stops sending and drains what the client still sends, for at most this
// long and this many bytes, so the kernel does not answer the unread bytes
// with a reset that could discard our reply before the client reads it.
inline constexpr std::chrono::seconds kMetricsLingerTimeout{1};
inline constexpr std::size_t kMetricsLingerBytes = 64u << 10;

// Content type of the exposition format served at /metrics.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

struct MetricsServerOptions {
  std::chrono::steady_clock::duration timeout = kMetricsTimeout;
  std::size_t max_connections = kMetricsMaxConnections;
  // The `version` label of `mosix_build_info`.
  std::string version = "0.1";
};

class MetricsServer {
 public:
  // Called once per scrape on the io thread; writes its families into the
  // writer. An exception fails that scrape with a 500 and is logged.
  using Source = std::function<void(MetricsWriter&)>;

  // `address` is an IPv4 or IPv6 literal ("0.0.0.0", "::", "127.0.0.1").
  // Port 0 asks the kernel for a free port (tests read it from bound_port());
  // a daemon whose configured metrics port is 0 does not start the server.
  MetricsServer(asio::io_context& io, std::string address, std::uint16_t port,
                MetricsServerOptions options = {});
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  // Stops; connections still open are closed and never call a source again.
  // Destroy the server before its io_context, like any Asio I/O object.
  ~MetricsServer();

  // Sources run in the order added, after the built-in families
  // (mosix_build_info, process_start_time_seconds, mosix_metrics_*). Call on
  // the io thread or before it runs, not from inside a source.
  void add_source(Source source);

  // Binds and listens; the error names the address on failure (bad address,
  // port in use, no permission). Accepting runs on the io_context.
  std::expected<void, std::string> start();
  // Closes the listener and every open connection. Call on the io thread or
  // while it is not running. start() may be called again afterwards.
  void stop();

  // The port actually listened on; 0 when not started.
  std::uint16_t bound_port() const;

  // The body a scrape would return now. Exceptions from sources propagate.
  std::string render();

 private:
  struct State;  // shared with the coroutines, which may outlive the server
  static asio::awaitable<void> accept_loop(std::shared_ptr<State> st, std::uint64_t generation);
  static asio::awaitable<void> serve(std::shared_ptr<State> st, asio::ip::tcp::socket sock);
  static std::string render_metrics(State& st);

  std::shared_ptr<State> state_;
};

}  // namespace mos::common
