#include "http_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "digitnet/core/error.hpp"
#include "http_gate.hpp"
#include "request_line.hpp"

namespace digitnet::cli {

HttpReply json_error(int status, std::string_view why) {
  return {status, "application/json", nlohmann::json{{"error", why}}.dump()};
}

std::string reply_bytes(const HttpReply& reply) {
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &utc));
  std::string bytes =
      fmt::format("HTTP/1.1 {} {}\r\nDate: {}\r\nConnection: close\r\nContent-Type: {}\r\n", reply.status,
                  MHD_get_reason_phrase_for(static_cast<unsigned>(reply.status)), date, reply.content_type);
  for (const auto& [name, value] : reply.headers) bytes += fmt::format("{}: {}\r\n", name, value);
  bytes += fmt::format("Content-Length: {}\r\n\r\n{}", reply.body.size(), reply.body);
  return bytes;
}

namespace {

constexpr std::chrono::seconds kLinger{1};

// One request on a connection, from its headers to the end of its reply.
struct Exchange {
  explicit Exchange(MemoryBudget& budget) : share(budget) {}
  BudgetShare share;  // what `body` holds of the shared budget (its capacity)
  std::string body;
  std::size_t expected = 0;  // Content-Length, or the size limit for a chunked body
  bool replied = false;
  // Refused while its body was coming in: the rest of the body is read and dropped for a
  // moment (so that the client sees the reply rather than a reset), then the connection closes.
  std::optional<std::chrono::steady_clock::time_point> refused_at;
};

// The framing headers, gathered in one pass over the request's headers.
struct Framing {
  int content_lengths = 0, transfer_encodings = 0, hosts = 0;
  std::string_view content_length, transfer_encoding, content_type;
};

MHD_Result gather(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto& f = *static_cast<Framing*>(cls);
  const std::string_view v = value ? value : "";
  if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) f.content_lengths++, f.content_length = v;
  else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) f.transfer_encodings++, f.transfer_encoding = v;
  else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_TYPE) == 0) f.content_type = v;
  else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) f.hosts++;
  return MHD_YES;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// A listening socket for host:port (any free port for 0), as the first address that binds.
int open_listener(const std::string& host, int port, sockaddr_storage& bound) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int e = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); e != 0)
    throw Error(fmt::format("--host: cannot listen on {} ({})", host, gai_strerror(e)));
  int fd = -1, error = 0;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      error = errno;
      ::close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) throw Error(fmt::format("--port: cannot listen on {}:{} ({})", host, port, std::strerror(error)));
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  return fd;
}

// Each connection needs a file descriptor: raise the soft limit to the hard one, and keep
// max_connections under it (with room for the listener, the model file and the like).
unsigned connection_limit(unsigned wanted) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return wanted;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
  const rlim_t reserved = 64 + HttpGate::kMaxClosing;  // the listener, the model file, the gate's refusals, ...
  const rlim_t room = r.rlim_cur > reserved ? r.rlim_cur - reserved : 1;
  if (wanted <= room) return wanted;
  fmt::print(stderr, "digitnet: warning: --max-connections {}: this process may open {} files, so it takes {}\n",
             wanted, r.rlim_cur, room);
  return static_cast<unsigned>(room);
}

void free_string(void* s) { delete static_cast<std::string*>(s); }

}  // namespace

struct HttpServer::Impl {
  Impl(const HttpOptions& o, HttpRoutes r, MemoryBudget& b) : options(o), routes(std::move(r)), budget(b) {}

  HttpOptions options;
  HttpRoutes routes;
  MemoryBudget& budget;
  sockaddr_storage bound{};
  int listener = -1;
  // One libmicrohttpd daemon per thread, each polling the connections the gate hands it in turn
  // (its own thread pool needs its own listening socket, which the gate replaces).
  std::vector<MHD_Daemon*> daemons;
  std::atomic<unsigned> next_daemon{0};
  std::atomic<int> served{0};  // connections handed to the daemons and not yet closed
  std::unique_ptr<HttpGate> gate;
  std::atomic<bool> started{false};
  std::string start_error;  // libmicrohttpd's last word while starting (under mutex)

  std::atomic<bool> draining{false};
  std::mutex mutex;
  std::condition_variable idle;
  int in_flight = 0;  // requests whose headers are in and whose reply is not yet sent

  // libmicrohttpd calls this once the headers are in, then with each piece of the body, then
  // once more with none when the body is complete. No exception may cross back into C.
  static MHD_Result on_access(void* cls, MHD_Connection* c, const char* url, const char* method, const char* version,
                              const char* data, std::size_t* size, void** state) noexcept {
    try {
      return static_cast<Impl*>(cls)->on_call(c, url, method, version, data, size, state);
    } catch (...) {
      return MHD_NO;  // out of memory: close the connection
    }
  }

  MHD_Result on_call(MHD_Connection* c, const char* url, const char* method, const char* version, const char* data,
                     std::size_t* size, void** state) {
    if (!*state) {  // the headers are in
      auto* x = new Exchange(budget);
      *state = x;
      {
        std::lock_guard lock(mutex);
        ++in_flight;
      }
      return on_headers(c, url, method, version, *x);
    }
    auto& x = *static_cast<Exchange*>(*state);
    if (x.refused_at) {  // the rest of a refused body: dropped for up to kLinger, then close
      const bool more = std::exchange(*size, 0) != 0;
      return more && std::chrono::steady_clock::now() - *x.refused_at < kLinger ? MHD_YES : MHD_NO;
    }
    if (*size != 0) {
      const std::size_t n = std::exchange(*size, 0);
      if (x.replied) return MHD_YES;  // the rest of a body we already answered
      return on_data(c, x, {data, n});
    }
    if (x.replied) return MHD_YES;
    Framing f;
    MHD_get_connection_values(c, MHD_HEADER_KIND, &gather, &f);
    HttpReply reply;
    try {
      reply = routes.on_request({method, url, f.content_type, x.body});
    } catch (const std::bad_alloc&) {
      reply = json_error(503, "out of memory; try again");
    } catch (const std::exception& e) {
      reply = json_error(500, fmt::format("internal error: {}", e.what()));
    }
    return send(c, x, std::move(reply), false);
  }

  MHD_Result on_headers(MHD_Connection* c, const char* url, const char* method, const char* version, Exchange& x) {
    Framing f;
    MHD_get_connection_values(c, MHD_HEADER_KIND, &gather, &f);
    const bool chunked = f.transfer_encodings > 0;
    const bool has_body =
        chunked || (f.content_lengths > 0 && f.content_length.find_first_not_of("0 \t") != std::string_view::npos);
    // The gate judged a connection's first request line; later ones on a kept-alive connection
    // are libmicrohttpd's, which takes any bytes but a space for a method.
    if (!is_http_token(method)) return send(c, x, json_error(400, "the method is not a token"), true);
    // RFC 9112, section 3.2: an HTTP/1.1 request has exactly one Host header.
    if (f.hosts > 1) return send(c, x, json_error(400, "more than one Host header"), true);
    if (f.hosts == 0 && std::string_view(version) == MHD_HTTP_VERSION_1_1)
      return send(c, x, json_error(400, "an HTTP/1.1 request needs a Host header"), true);
    // Framing a proxy and this server could read two ways is refused (RFC 9112, section 6).
    if (f.transfer_encodings > 1 || (chunked && !iequals(f.transfer_encoding, "chunked")))
      return send(c, x, json_error(400, "only Transfer-Encoding: chunked is understood"), true);
    if (chunked && f.content_lengths > 0)
      return send(c, x, json_error(400, "both Content-Length and Transfer-Encoding were given"), true);
    if (f.content_lengths > 1) return send(c, x, json_error(400, "more than one Content-Length"), true);

    if (auto reply = routes.on_headers({method, url, f.content_type, {}}))
      return send(c, x, std::move(*reply), has_body);
    // The route reads a body.
    if (f.content_lengths == 0 && !chunked)
      return send(c, x, json_error(411, "send the body with a Content-Length or Transfer-Encoding: chunked"), true);
    x.expected = options.max_body;
    if (!chunked) {
      // libmicrohttpd has refused a Content-Length that is not a number before calling us.
      std::uint64_t length = 0;
      const std::string_view v = f.content_length;
      const std::size_t start = std::min(v.size(), v.find_first_not_of(" \t"));
      if (std::from_chars(v.data() + start, v.data() + v.size(), length).ec != std::errc())
        return send(c, x, json_error(400, "the Content-Length is not a number"), true);
      if (length > options.max_body) return send(c, x, too_large(length), true);
      x.expected = length;
    }
    return MHD_YES;
  }

  MHD_Result on_data(MHD_Connection* c, Exchange& x, std::string_view data) {
    if (data.size() > options.max_body - x.body.size()) return refuse(c, x, too_large(0));
    // Grow the buffer by doubling, never past the body's size, each step paid from the budget.
    if (x.body.size() + data.size() > x.body.capacity()) {
      const std::size_t want = std::max({x.body.size() + data.size(), 2 * x.body.capacity(), std::size_t{16384}});
      const std::size_t capacity = std::min(want, std::max(x.expected, x.body.size() + data.size()));
      if (capacity > x.share.bytes() && !x.share.grow(capacity - x.share.bytes())) {
        HttpReply busy = json_error(503, "the server holds as many request bodies as it may; try again");
        busy.headers.emplace_back(MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return refuse(c, x, busy);
      }
      x.body.reserve(capacity);
    }
    x.body.append(data);
    return MHD_YES;
  }

  HttpReply too_large(std::uint64_t length) const {
    return json_error(
        413,
        length ? fmt::format("request body too large: {} bytes; the limit is {} (--max-body)", length, options.max_body)
               : fmt::format("request body too large: over the limit of {} bytes (--max-body)", options.max_body));
  }

  // A reply while the body is still coming in. libmicrohttpd 0.9.75 takes a reply only before
  // the body or after all of it (MHD_queue_response returns MHD_NO in between), and waiting for
  // the end of a body with no end is no answer: so the reply is written to the socket here,
  // where nothing else is being written (the library is reading), and the connection closes.
  MHD_Result refuse(MHD_Connection* c, Exchange& x, const HttpReply& reply) {
    x.replied = true;
    x.refused_at = std::chrono::steady_clock::now();
    x.body = std::string();  // not needed any more: hand it back now, not when the connection ends
    x.share.release();
    const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info) return MHD_NO;
    const std::string bytes = reply_bytes(reply);
    // A new reply of a few hundred bytes fits the socket's empty send buffer; if it did not,
    // the connection closes without it.
    (void)::send(info->connect_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return MHD_YES;
  }

  // Queues the reply; `close` ends the connection after it (a body we did not read may follow).
  MHD_Result send(MHD_Connection* c, Exchange& x, HttpReply reply, bool close) {
    x.replied = true;
    auto* body = new std::string(std::move(reply.body));
    MHD_Response* r =
        MHD_create_response_from_buffer_with_free_callback_cls(body->size(), body->data(), &free_string, body);
    if (!r) {
      delete body;
      return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
    for (const auto& [name, value] : reply.headers) MHD_add_response_header(r, name.c_str(), value.c_str());
    if (close || draining.load()) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    const MHD_Result queued = MHD_queue_response(c, static_cast<unsigned>(reply.status), r);
    MHD_destroy_response(r);
    return queued;
  }

  static void on_completed(void* cls, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
    auto& s = *static_cast<Impl*>(cls);
    if (!*state) return;
    delete static_cast<Exchange*>(std::exchange(*state, nullptr));
    std::lock_guard lock(s.mutex);
    if (--s.in_flight == 0) s.idle.notify_all();
  }

  static void on_connection(void* cls, MHD_Connection*, void**, MHD_ConnectionNotificationCode code) {
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) --static_cast<Impl*>(cls)->served;
  }

  bool pass(int fd, const sockaddr* address, socklen_t length) {
    MHD_Daemon* d = daemons[next_daemon++ % daemons.size()];
    return MHD_add_connection(d, fd, address, length) == MHD_YES;  // on failure it closes fd
  }

  static void on_log(void* cls, const char* format, va_list args) noexcept {
    auto& s = *static_cast<Impl*>(cls);
    if (s.started) return;  // once serving, clients' mistakes are answered, not logged
    char line[512];
    std::vsnprintf(line, sizeof line, format, args);
    std::string_view text = line;
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    try {
      std::lock_guard lock(s.mutex);
      s.start_error = text;
    } catch (...) {  // the message is only a detail of the error that follows
    }
  }
};

HttpServer::HttpServer(const HttpOptions& options, HttpRoutes routes, MemoryBudget& budget)
    : impl_(std::make_unique<Impl>(options, std::move(routes), budget)) {
  Impl& s = *impl_;
  const unsigned connections = connection_limit(options.max_connections);
  s.listener = open_listener(options.host, options.port, s.bound);
  // The logger first: it also hears about the options after it. The gate keeps the connection
  // limit; each daemon's own is only a backstop.
  const MHD_OptionItem settings[] = {
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&Impl::on_log), &s},
      {MHD_OPTION_CONNECTION_LIMIT, connections + 16, nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, options.idle_timeout, nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::on_completed), &s},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&Impl::on_connection), &s},
      {MHD_OPTION_END, 0, nullptr}};
  for (int t = 0; t < std::max(1, options.threads); ++t) {
    // poll(), not epoll: libmicrohttpd 0.9.75's edge-triggered loop can miss a close that arrives
    // with a body's last bytes, and then holds the connection and its body until the idle timeout.
    MHD_Daemon* d =
        MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET, 0,
                         nullptr, nullptr, &Impl::on_access, &s, MHD_OPTION_ARRAY, settings, MHD_OPTION_END);
    if (!d) {
      for (MHD_Daemon* started : s.daemons) MHD_stop_daemon(started);
      s.daemons.clear();
      ::close(s.listener);
      std::lock_guard lock(s.mutex);
      throw Error(fmt::format("cannot start the web server on {}:{} ({})", options.host, port(),
                              s.start_error.empty() ? "libmicrohttpd gave no reason" : s.start_error));
    }
    s.daemons.push_back(d);
  }
  s.started = true;
  try {
    s.gate = std::make_unique<HttpGate>(
        s.listener, HttpGate::Options{.max_connections = connections, .idle_timeout = options.idle_timeout},
        [&s](int fd, const sockaddr* address, socklen_t length) { return s.pass(fd, address, length); }, s.served);
  } catch (const std::exception& e) {
    for (MHD_Daemon* d : s.daemons) MHD_stop_daemon(d);
    s.daemons.clear();
    ::close(s.listener);
    throw Error(fmt::format("cannot start the web server on {}:{} ({})", options.host, port(), e.what()));
  }
}

HttpServer::~HttpServer() { stop(std::chrono::milliseconds(0)); }

void HttpServer::stop(std::chrono::milliseconds drain) {
  Impl& s = *impl_;
  if (s.daemons.empty()) return;
  s.draining = true;
  s.gate->stop();  // no new connections from here on (the gate closes the listener)
  {
    std::unique_lock lock(s.mutex);
    s.idle.wait_for(lock, drain, [&] { return s.in_flight == 0; });
  }
  for (MHD_Daemon* d : s.daemons) MHD_stop_daemon(d);
  s.daemons.clear();
}

int HttpServer::port() const {
  const auto& a = impl_->bound;
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
}

bool HttpServer::loopback() const {
  const auto& a = impl_->bound;
  if (a.ss_family == AF_INET) return (ntohl(reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr) >> 24) == 127;
  const in6_addr& v6 = reinterpret_cast<const sockaddr_in6&>(a).sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}

bool HttpServer::any_interface() const {
  const auto& a = impl_->bound;
  if (a.ss_family == AF_INET) return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr == htonl(INADDR_ANY);
  const in6_addr& v6 = reinterpret_cast<const sockaddr_in6&>(a).sin6_addr;
  return IN6_IS_ADDR_UNSPECIFIED(&v6);
}

std::string HttpServer::address() const {
  const auto& a = impl_->bound;
  char text[INET6_ADDRSTRLEN] = {0};
  if (a.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, text, sizeof text);
  else ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, text, sizeof text);
  return a.ss_family == AF_INET6 ? fmt::format("[{}]", text) : std::string(text);
}

}  // namespace digitnet::cli
