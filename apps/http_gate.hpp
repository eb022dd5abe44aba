#pragma once
// The first moments of every connection to `digitnet serve`, before libmicrohttpd takes it
// (http_server.hpp). libmicrohttpd 0.9.75 stops accepting at its connection limit (a new client
// then waits in the kernel's queue, unanswered), and judges a request line only once its line
// end is in (a TLS handshake or binary garbage was held until the idle timeout). So connections
// are accepted here: one past --max-connections is answered 503 at once; the others are held,
// with nothing read from them, until their first request line is whole: a line that is not
// HTTP gets 400 at once, and a good one goes to libmicrohttpd with its bytes still unread.
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

#include <sys/socket.h>

namespace digitnet::cli {

class HttpGate {
 public:
  struct Options {
    unsigned max_connections = 2000;  // held here and by the server together
    unsigned idle_timeout = 10;       // seconds a held connection may send nothing
  };
  // Hands a connection on to the server; false if the server could not take it (it closes it).
  using Pass = std::function<bool(int fd, const sockaddr* address, socklen_t length)>;
  // The most connections held at once after a 503 or a 400, while what their clients still send
  // is read and dropped (at most a second each), so that they see the reply rather than a reset.
  static constexpr unsigned kMaxClosing = 256;

  // Accepts from `listener` on a thread of its own until stop(). `served` counts the connections
  // handed on and not yet closed: the gate raises it, the server lowers it as they close.
  HttpGate(int listener, Options options, Pass pass, std::atomic<int>& served);
  ~HttpGate();
  HttpGate(const HttpGate&) = delete;
  HttpGate& operator=(const HttpGate&) = delete;

  // Ends the thread, closes the listener (new connections are refused from here on) and every
  // connection not handed on.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace digitnet::cli
