#include "http_gate.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "http_server.hpp"
#include "request_line.hpp"

namespace digitnet::cli {
namespace {

using Clock = std::chrono::steady_clock;

// How much of a connection's first bytes is looked at: a request line longer than this (a long
// URL) goes to libmicrohttpd unjudged, whose own limits answer it.
constexpr std::size_t kPeek = 8192;
constexpr auto kLinger = std::chrono::seconds(1);
constexpr auto kSweep = std::chrono::milliseconds(100);  // how often deadlines are looked at

}  // namespace

struct HttpGate::Impl {
  Impl(int l, Options o, Pass p, std::atomic<int>& s) : listener(l), options(o), pass(std::move(p)), served(s) {}

  // A connection accepted and not yet handed on: waiting for its request line, or refused and
  // closing (what its client still sends is read and dropped until `until`).
  struct Held {
    sockaddr_storage address{};
    socklen_t length = 0;
    bool closing = false;
    std::size_t seen = 0;  // bytes looked at so far
    Clock::time_point last, until;
  };

  int listener;
  Options options;
  Pass pass;
  std::atomic<int>& served;
  int epoll = -1, wake = -1;
  std::unordered_map<int, Held> held;
  std::size_t waiting = 0, closing = 0;
  bool accept_paused = false;
  std::thread thread;

  void watch(int fd, std::uint32_t events, int op = EPOLL_CTL_ADD) {
    epoll_event e{};
    e.events = events;
    e.data.fd = fd;
    ::epoll_ctl(epoll, op, fd, &e);
  }

  void run() {
    epoll_event events[64];
    auto next_sweep = Clock::now() + kSweep;
    while (true) {
      // Rounded up: a wait rounded down to 0 ms would spin until the sweep is due.
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_sweep - Clock::now());
      const int n = ::epoll_wait(epoll, events, 64, static_cast<int>(std::max<long>(0, wait.count())));
      if (n < 0 && errno != EINTR) return;
      const auto now = Clock::now();
      for (int k = 0; k < n; ++k) {
        const int fd = events[k].data.fd;
        if (fd == wake) return;
        if (fd == listener) accept_all(now);
        else on_ready(fd, events[k].events, now);
      }
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + kSweep;
      }
    }
  }

  void accept_all(Clock::time_point now) {
    while (true) {
      Held h;
      h.length = sizeof h.address;
      const int fd =
          ::accept4(listener, reinterpret_cast<sockaddr*>(&h.address), &h.length, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          // Out of file descriptors or memory: stop accepting for a moment rather than spin.
          watch(listener, 0, EPOLL_CTL_MOD);
          accept_paused = true;
        }
        return;
      }
      h.last = now;
      const long total = static_cast<long>(waiting) + served.load();
      if (total >= static_cast<long>(options.max_connections)) {
        HttpReply busy = json_error(
            503, fmt::format("the server holds as many connections as it may ({}, --max-connections); try again",
                             options.max_connections));
        busy.headers.emplace_back("Retry-After", "1");
        held.emplace(fd, h);
        ++waiting;
        refuse(fd, held.at(fd), busy, now);
        continue;
      }
      held.emplace(fd, h);
      ++waiting;
      // Under load the request line is often in already: judged at once, it is handed on
      // without a round through epoll.
      if (judge(fd, 0, now)) continue;
      // Edge-triggered: an event for each new piece of data (what is there is only looked at,
      // so it stays readable), and one at once for what came before this.
      watch(fd, EPOLLIN | EPOLLRDHUP | EPOLLET);
    }
  }

  void on_ready(int fd, std::uint32_t events, Clock::time_point now) {
    const auto it = held.find(fd);
    if (it == held.end()) return;
    if (it->second.closing) return drain(fd, it->second);
    judge(fd, events, now);
  }

  // Looks at what the connection has sent (leaving it unread): hands it on, refuses it or closes
  // it, and says whether it did; false while its request line is not whole yet.
  bool judge(int fd, std::uint32_t events, Clock::time_point now) {
    Held& h = held.at(fd);
    char bytes[kPeek];
    const ssize_t n = ::recv(fd, bytes, sizeof bytes, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
    if (n <= 0) return close(fd), true;  // closed by the client, or reset
    if (static_cast<std::size_t>(n) > h.seen) h.last = now;
    h.seen = static_cast<std::size_t>(n);
    const RequestLineCheck line = check_request_line({bytes, h.seen});
    if (line.verdict == RequestLineCheck::bad)
      return refuse(fd, h, json_error(400, fmt::format("bad request line: {}", line.why)), now), true;
    if (line.verdict == RequestLineCheck::good || h.seen == kPeek) return hand_on(fd, h), true;
    // Not whole yet. A client that has closed its side will never finish it.
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) return close(fd), true;
    return false;
  }

  void hand_on(int fd, const Held& h) {
    const Held copy = h;
    ::epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);  // ENOENT when judged before it was watched
    held.erase(fd);
    --waiting;
    ++served;  // before: the server may close it (and lower the count) before pass returns
    if (!pass(fd, reinterpret_cast<const sockaddr*>(&copy.address), copy.length)) --served;
  }

  // Writes the reply whole (a few hundred bytes fit an empty socket buffer) and ends the sending
  // side; what the client still sends is read and dropped for a moment, then it closes.
  void refuse(int fd, Held& h, const HttpReply& reply, Clock::time_point now) {
    const std::string bytes = reply_bytes(reply);
    (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd, SHUT_WR);
    if (closing >= kMaxClosing) return close(fd);
    --waiting;
    ++closing;
    h.closing = true;
    h.until = now + kLinger;
    watch(fd, EPOLLIN | EPOLLRDHUP | EPOLLET);  // EEXIST if it was watched already: as good
    drain(fd, h);
  }

  void drain(int fd, Held&) {
    char sink[16384];
    while (true) {
      const ssize_t n = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return close(fd);  // the client has closed too
    }
  }

  void close(int fd) {
    const auto it = held.find(fd);
    if (it != held.end()) {
      --(it->second.closing ? closing : waiting);
      held.erase(it);
    }
    ::close(fd);  // also takes it out of the epoll set
  }

  void sweep(Clock::time_point now) {
    const auto idle = std::chrono::seconds(options.idle_timeout);
    std::vector<int> due;
    for (const auto& [fd, h] : held)
      if (h.closing ? now >= h.until : now - h.last >= idle) due.push_back(fd);
    for (const int fd : due) close(fd);
    if (accept_paused) {
      watch(listener, EPOLLIN, EPOLL_CTL_MOD);
      accept_paused = false;
    }
  }
};

HttpGate::HttpGate(int listener, Options options, Pass pass, std::atomic<int>& served)
    : impl_(std::make_unique<Impl>(listener, options, std::move(pass), served)) {
  Impl& s = *impl_;
  s.epoll = ::epoll_create1(EPOLL_CLOEXEC);
  s.wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s.epoll < 0 || s.wake < 0) {
    const int error = errno;
    if (s.epoll >= 0) ::close(s.epoll);
    if (s.wake >= 0) ::close(s.wake);
    throw std::system_error(error, std::generic_category(), "cannot watch connections");
  }
  s.watch(s.wake, EPOLLIN);
  s.watch(listener, EPOLLIN);
  s.thread = std::thread([&s] { s.run(); });
}

HttpGate::~HttpGate() { stop(); }

void HttpGate::stop() {
  Impl& s = *impl_;
  if (!s.thread.joinable()) return;
  const std::uint64_t one = 1;
  (void)::write(s.wake, &one, sizeof one);
  s.thread.join();
  ::close(s.listener);
  for (const auto& [fd, h] : s.held) ::close(fd);
  s.held.clear();
  ::close(s.epoll);
  ::close(s.wake);
}

}  // namespace digitnet::cli
