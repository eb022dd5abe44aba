#pragma once
// Helpers for the serve tests: `digitnet serve` as a child process on a free port, raw sockets
// (to send what no well-behaved client sends), and the server's memory from /proc.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace digitnet::test {

// A small trained 784,32,10 model in a temp dir (trained once per test process).
const std::string& serve_model();

// `digitnet serve MODEL --port 0 ARGS...`, running until stop() or the end of the object.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& args = {}, const std::string& model = serve_model());
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& first_line() const { return first_line_; }
  // What the server wrote to stderr so far (does not wait).
  std::string err();
  // Sends the signal and waits for the exit (up to `wait`): the exit code, or -1 if it did
  // not exit by itself (it is then killed), or -2 if a signal ended it.
  int stop(int signal, std::chrono::milliseconds wait = std::chrono::seconds(20));

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int err_fd_ = -1;
  std::string first_line_, err_;
};

// A connected TCP socket to 127.0.0.1:port with a receive timeout; -1 if the connect failed.
int connect_to(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
// Sends everything it can; false once the server has closed or reset the connection.
bool send_all(int fd, std::string_view bytes);

struct RawReply {
  int status = 0;  // 0: no reply (closed, reset or timed out first)
  std::string head, body;
  bool closes = false;  // "Connection: close"
};
// Reads one reply (headers, then Content-Length bytes of body).
RawReply read_reply(int fd);
// True if the server closes the connection within `within` (recv gives 0 or a reset).
bool closed_by_server(int fd, std::chrono::milliseconds within);

// A whole request, e.g. request("POST", "/api/predict", body, "Content-Type: application/json\r\n").
std::string request(std::string_view method, std::string_view path, std::string_view body, std::string_view headers);
std::string pixels_body(float value = 0.0f);  // {"pixels": [...784 values...]}

// A server built with AddressSanitizer (as this test is) holds shadow memory, redzones and a
// quarantine of freed blocks besides its own: memory bounds are scaled by kMemoryScale, and
// whether memory returns to its baseline is only checked without it.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
constexpr long kMemoryScale = kSanitized ? 4 : 1;

// Bytes that arrived on the server's connections (local port `port`) and that it has not read
// yet (/proc/net/tcp and tcp6): 0 once it has taken in everything sent to it.
long unread_by_server(int port);

// A line of /proc/PID/status in kB: "VmRSS", or "VmHWM" (the peak since reset_peak_rss).
long proc_status_kb(pid_t pid, const char* field);
void reset_peak_rss(pid_t pid);

}  // namespace digitnet::test
