#include "common/MetricsServer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/Log.h"

namespace mos::common {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

struct MetricsServer::State {
  State(asio::io_context& io, std::string address, std::uint16_t port, MetricsServerOptions options)
      : io(io),
        address(std::move(address)),
        port(port),
        options(std::move(options)),
        acceptor(io) {}

  asio::io_context& io;
  const std::string address;
  const std::uint16_t port;
  const MetricsServerOptions options;
  tcp::acceptor acceptor;
  std::vector<Source> sources;
  bool running = false;
  // Bumped by each start(), so an accept loop of an earlier start ends.
  std::uint64_t generation = 0;
  std::uint16_t bound_port = 0;
  // Counted from accept (a connection's coroutine registers its stream only
  // when it first runs), so the cap cannot be overshot in between.
  std::size_t open_connections = 0;
  std::set<beast::tcp_stream*> streams;  // what stop() closes
  std::uint64_t scrapes = 0;
  std::uint64_t scrape_errors = 0;
  std::uint64_t rejected = 0;
};

namespace {

using Request = http::request<http::empty_body>;
using Response = http::response<http::string_body>;
using Duration = std::chrono::steady_clock::duration;

constexpr std::string_view kIndexPage =
    "<!DOCTYPE html>\n<html><head><title>mosix metrics</title></head>\n"
    "<body><p>Metrics are at <a href=\"/metrics\">/metrics</a>.</p></body></html>\n";

Response make_response(http::status status, unsigned version, std::string_view content_type,
                       std::string body) {
  Response res{status, version};
  res.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response text_response(http::status status, unsigned version, std::string text) {
  return make_response(status, version, "text/plain; charset=utf-8", std::move(text));
}

bool is_parse_error(const error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

http::status status_for(const error_code& parse_error) {
  if (parse_error == http::error::header_limit || parse_error == http::error::buffer_overflow) {
    return http::status::request_header_fields_too_large;
  }
  if (parse_error == http::error::body_limit || parse_error == http::error::unexpected_body) {
    return http::status::payload_too_large;
  }
  return http::status::bad_request;
}

std::string endpoint_string(const tcp::endpoint& ep) {
  const std::string a = ep.address().to_string();
  return ep.address().is_v6() ? fmt::format("[{}]:{}", a, ep.port())
                              : fmt::format("{}:{}", a, ep.port());
}

// Writes `res`, only its header for HEAD. False when the client is gone or
// did not take the response within `timeout`.
asio::awaitable<bool> write_response(beast::tcp_stream& stream, Response& res, bool header_only,
                                     Duration timeout) {
  error_code ec;
  http::response_serializer<http::string_body> sr(res);
  stream.expires_after(timeout);
  if (header_only) {
    co_await http::async_write_header(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await http::async_write(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return !ec;
}

// Ends the connection after our last response: stop sending, then discard
// what the client still sends until it closes, briefly. Closing with unread
// bytes would make the kernel send a reset, which may destroy the response
// in flight before the client has read it.
asio::awaitable<void> linger_close(beast::tcp_stream& stream, Duration timeout) {
  error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::min<Duration>(timeout, kMetricsLingerTimeout));
  std::array<char, 4096> sink;
  std::size_t drained = 0;
  while (!ec && drained < kMetricsLingerBytes) {
    drained += co_await stream.async_read_some(asio::buffer(sink),
                                               asio::redirect_error(asio::use_awaitable, ec));
  }
  stream.close();
}

}  // namespace

MetricsServer::MetricsServer(asio::io_context& io, std::string address, std::uint16_t port,
                             MetricsServerOptions options)
    : state_(std::make_shared<State>(io, std::move(address), port, std::move(options))) {}

MetricsServer::~MetricsServer() {
  stop();
  // Connections still winding down hold the state; they must not reach
  // sources that point into an owner being destroyed.
  state_->sources.clear();
}

void MetricsServer::add_source(Source source) {
  state_->sources.push_back(std::move(source));
}

std::uint16_t MetricsServer::bound_port() const {
  return state_->bound_port;
}

std::string MetricsServer::render() {
  return render_metrics(*state_);
}

std::expected<void, std::string> MetricsServer::start() {
  State& st = *state_;
  if (st.running) {
    return {};
  }
  error_code ec;
  const asio::ip::address addr = asio::ip::make_address(st.address, ec);
  if (ec) {
    return std::unexpected(
        fmt::format("bad metrics listen address '{}': {}", st.address, ec.message()));
  }
  const tcp::endpoint ep(addr, st.port);
  st.acceptor.open(ep.protocol(), ec);
  if (!ec) {
    // A restarted daemon must not wait for its old connections' TIME_WAIT.
    st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    st.acceptor.bind(ep, ec);
  }
  if (!ec) {
    st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  tcp::endpoint bound;
  if (!ec) {
    bound = st.acceptor.local_endpoint(ec);
  }
  if (ec) {
    error_code ignored;
    st.acceptor.close(ignored);
    return std::unexpected(
        fmt::format("cannot serve metrics on {}: {}", endpoint_string(ep), ec.message()));
  }
  st.bound_port = bound.port();
  st.running = true;
  ++st.generation;
  asio::co_spawn(st.io, accept_loop(state_, st.generation), asio::detached);
  MOS_LOG_INFO("metrics at http://{}/metrics", endpoint_string(bound));
  return {};
}

void MetricsServer::stop() {
  State& st = *state_;
  if (!st.running) {
    return;
  }
  st.running = false;
  st.bound_port = 0;
  error_code ec;
  st.acceptor.close(ec);
  // Closing never runs handlers inline, so the set is stable while we walk
  // it; each coroutine then wakes with an error and unregisters.
  for (beast::tcp_stream* s : st.streams) {
    s->close();
  }
}

std::string MetricsServer::render_metrics(State& st) {
  MetricsWriter w;
  w.family("mosix_build_info", "Version of this mosix program; the value is always 1.",
           MetricType::kGauge);
  w.sample("mosix_build_info", {{"version", st.options.version}}, 1);
  w.family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
           MetricType::kGauge);
  w.sample("process_start_time_seconds", process_start_time_seconds());
  w.family("mosix_metrics_scrapes_total",
           "Scrapes of /metrics answered by this process, this one included.",
           MetricType::kCounter);
  w.sample("mosix_metrics_scrapes_total", st.scrapes);
  w.family("mosix_metrics_scrape_errors_total",
           "Scrapes of /metrics that failed because a metric source threw.", MetricType::kCounter);
  w.sample("mosix_metrics_scrape_errors_total", st.scrape_errors);
  w.family("mosix_metrics_connections_rejected_total",
           "Connections to the metrics port closed at once because too many were open.",
           MetricType::kCounter);
  w.sample("mosix_metrics_connections_rejected_total", st.rejected);
  for (const Source& source : st.sources) {
    source(w);
  }
  return w.take();
}

asio::awaitable<void> MetricsServer::accept_loop(std::shared_ptr<State> st,
                                                 std::uint64_t generation) {
  for (;;) {
    error_code ec;
    tcp::socket sock =
        co_await st->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!st->running || st->generation != generation || ec == asio::error::operation_aborted) {
      co_return;
    }
    if (ec) {
      // Typically out of file descriptors: back off rather than spin.
      MOS_LOG_WARN("metrics accept failed: {}", ec.message());
      asio::steady_timer pause(st->io, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (st->open_connections >= st->options.max_connections) {
      ++st->rejected;
      MOS_LOG_DEBUG("metrics: {} connections open, refusing another", st->open_connections);
      sock.close(ec);
      continue;
    }
    ++st->open_connections;
    asio::co_spawn(st->io, serve(st, std::move(sock)), asio::detached);
  }
}

// g++ 12 pairs the coroutine frame's class operator delete with the global
// operator new that Asio's frame allocator calls inside, and warns wrongly.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
asio::awaitable<void> MetricsServer::serve(std::shared_ptr<State> st, tcp::socket sock) {
  beast::tcp_stream stream(std::move(sock));
  struct Registration {
    State& st;
    beast::tcp_stream* stream;
    ~Registration() {
      st.streams.erase(stream);
      --st.open_connections;
    }
  } registration{*st, &stream};
  st->streams.insert(&stream);
  if (!st->running) {
    co_return;  // stopped between accept and now
  }
  error_code ec;
  const tcp::endpoint remote = stream.socket().remote_endpoint(ec);
  const std::string peer = ec ? std::string("?") : endpoint_string(remote);
  const Duration timeout = st->options.timeout;

  try {
    // Holds at most one header's worth; bytes of a pipelined next request
    // stay here between iterations.
    beast::flat_buffer buffer(2 * kMetricsMaxHeaderBytes);
    for (;;) {
      http::request_parser<http::empty_body> parser;
      parser.header_limit(kMetricsMaxHeaderBytes);
      parser.body_limit(kMetricsMaxBodyBytes);
      // One deadline for the whole request, not per read: a client that
      // trickles a byte at a time runs out of it as surely as a silent one.
      stream.expires_after(timeout);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (!st->running) {
        co_return;
      }
      if (ec) {
        if (is_parse_error(ec)) {
          MOS_LOG_DEBUG("metrics client {}: bad request: {}", peer, ec.message());
          Response res = text_response(status_for(ec), 11, ec.message() + "\n");
          res.keep_alive(false);
          if (co_await write_response(stream, res, false, timeout)) {
            co_await linger_close(stream, timeout);
          }
        } else if (ec != http::error::end_of_stream) {
          MOS_LOG_DEBUG("metrics client {}: {}", peer, ec.message());
        }
        co_return;
      }

      const Request& req = parser.get();
      const bool head = req.method() == http::verb::head;
      std::string_view target(req.target().data(), req.target().size());
      target = target.substr(0, target.find('?'));
      Response res;
      if (target != "/metrics" && target != "/") {
        res = text_response(http::status::not_found, req.version(),
                            "not found; metrics are at /metrics\n");
      } else if (req.method() != http::verb::get && !head) {
        res = text_response(http::status::method_not_allowed, req.version(),
                            "only GET and HEAD are supported\n");
        res.set(http::field::allow, "GET, HEAD");
      } else if (target == "/") {
        res = make_response(http::status::ok, req.version(), "text/html; charset=utf-8",
                            std::string(kIndexPage));
      } else {
        ++st->scrapes;
        std::optional<std::string> failure;
        try {
          res = make_response(http::status::ok, req.version(), kMetricsContentType,
                              render_metrics(*st));
        } catch (const std::exception& e) {
          failure = e.what();
        } catch (...) {
          failure = "unknown exception";
        }
        if (failure) {
          ++st->scrape_errors;
          MOS_LOG_WARN("metrics scrape failed: a source threw: {}", *failure);
          res = text_response(http::status::internal_server_error, req.version(),
                              "a metric source failed; see the daemon's log\n");
        }
      }
      const bool keep_alive = req.keep_alive();
      res.keep_alive(keep_alive);
      if (!co_await write_response(stream, res, head, timeout)) {
        co_return;
      }
      if (!keep_alive) {
        co_await linger_close(stream, timeout);
        co_return;
      }
    }
  } catch (const std::exception& e) {
    MOS_LOG_DEBUG("metrics client {}: {}", peer, e.what());
  } catch (...) {
    MOS_LOG_DEBUG("metrics client {}: unknown exception", peer);
  }
}

#pragma GCC diagnostic pop

}  // namespace mos::common
