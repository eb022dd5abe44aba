#pragma once
// The HTTP/1.1 server under `digitnet serve`, on libmicrohttpd: a few event-driven threads (each
// polling its share of the connections) handle many connections each, so an idle or slow client
// costs a socket and a little memory, never a thread. Connections are accepted by a gate in front
// (http_gate.hpp: 503 past the connection limit, 400 for a request line that is not HTTP, both at
// once). Framing and the Host header are checked when the headers are in, before any of the body
// is kept; bodies are held within a size limit and a budget shared by all connections;
// connections idle for the timeout are closed. docs/serve.md says why this library.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "memory_budget.hpp"

namespace digitnet::cli {

struct HttpRequest {
  std::string_view method, path, content_type;
  std::string_view body;  // empty until the whole body is in
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// {"error": why} with the status.
HttpReply json_error(int status, std::string_view why);
// A whole reply that closes the connection, as the bytes sent for it: for the few replies
// written to a socket directly, where libmicrohttpd writes nothing.
std::string reply_bytes(const HttpReply& reply);

struct HttpRoutes {
  // Once a request's headers are in: a reply now (a body that was coming is not read, and the
  // connection closes), or nothing to receive the body and then call on_request.
  std::function<std::optional<HttpReply>(const HttpRequest&)> on_headers;
  std::function<HttpReply(const HttpRequest&)> on_request;
};

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 = any free port
  int threads = 1;  // event loops, each on its own thread
  std::size_t max_body = 4 << 20;
  unsigned idle_timeout = 10;  // seconds without a byte from the client before it is closed
  unsigned max_connections = 2000;
};

class HttpServer {
 public:
  // Listening and serving when it returns; throws Error naming --host or --port if it cannot.
  HttpServer(const HttpOptions& options, HttpRoutes routes, MemoryBudget& budget);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  bool loopback() const;        // the address is 127.0.0.0/8 or ::1: only this machine can connect
  bool any_interface() const;   // 0.0.0.0 or ::
  std::string address() const;  // as bound, e.g. 127.0.0.1 or [::1]

  // Stops accepting, lets the requests in flight finish (for up to `drain`; they are told the
  // connection closes after them), then closes every connection.
  void stop(std::chrono::milliseconds drain);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace digitnet::cli
