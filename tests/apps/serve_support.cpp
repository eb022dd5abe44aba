#include "serve_support.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace digitnet::test {

const std::string& serve_model() {
  static const std::string path = [] {
    static TempDir dir;
    const Dataset train = synthetic(300, 28, 28, 1), t = synthetic(50, 28, 28, 2);
    write_idx_dir(dir.file("idx"), train, &t);
    const auto r =
        run_cli("train --data " + dir.file("idx") + " --layers 784,32,10 --epochs 2 --save " + dir.file("m.npz"));
    if (r.code != 0) throw std::runtime_error("training the serve tests' model failed: " + r.err);
    return dir.file("m.npz");
  }();
  return path;
}

ServeProcess::ServeProcess(const std::vector<std::string>& args, const std::string& model) {
  // The server answers some requests before their body is sent and closes: a client writing
  // on must get an error, not SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) return;
  std::vector<std::string> argv = {"digitnet", "serve", model, "--port", "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test that crashes takes its server with it
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    close(out[0]);
    close(err[0]);
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    execv(DIGITNET_BINARY, c.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  err_fd_ = err[0];
  fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  // The first line says where it listens: "serving M on http://127.0.0.1:PORT/ (...)".
  std::string line;
  pollfd p{out[0], POLLIN, 0};
  char c = 0;
  while (line.find('\n') == std::string::npos && poll(&p, 1, 30000) == 1 && read(out[0], &c, 1) == 1) line += c;
  close(out[0]);  // nothing more comes on stdout
  first_line_ = line;
  const auto end = line.rfind("/ (");
  const auto colon = line.rfind(':', end);
  if (end != std::string::npos && colon != std::string::npos) port_ = std::atoi(line.c_str() + colon + 1);
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0) stop(SIGTERM, std::chrono::seconds(5));
  if (err_fd_ >= 0) close(err_fd_);
}

std::string ServeProcess::err() {
  char buf[4096];
  ssize_t n;
  while (err_fd_ >= 0 && (n = read(err_fd_, buf, sizeof buf)) > 0) err_.append(buf, static_cast<std::size_t>(n));
  return err_;
}

int ServeProcess::stop(int signal, std::chrono::milliseconds wait) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  const auto until = std::chrono::steady_clock::now() + wait;
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(pid_, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (done == 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  if (done == 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

int connect_to(int port, std::chrono::milliseconds timeout) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

RawReply read_reply(int fd) {
  RawReply r;
  std::string data;
  char buf[16384];
  std::size_t head_end;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return r;
    data.append(buf, static_cast<std::size_t>(n));
  }
  r.head = data.substr(0, head_end + 2);
  std::size_t length = 0;
  std::istringstream lines(r.head);
  std::string line;
  std::getline(lines, line);
  const int status = std::atoi(line.c_str() + std::min<std::size_t>(9, line.size()));
  while (std::getline(lines, line)) {
    if (strncasecmp(line.c_str(), "content-length:", 15) == 0) length = std::stoul(line.substr(15));
    if (strncasecmp(line.c_str(), "connection:", 11) == 0 && line.find("close") != std::string::npos) r.closes = true;
  }
  r.body = data.substr(head_end + 4);
  while (r.body.size() < length) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return r;
    r.body.append(buf, static_cast<std::size_t>(n));
  }
  r.status = status;
  return r;
}

bool closed_by_server(int fd, std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  char buf[4096];
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) != 1) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
  }
  return false;
}

std::string request(std::string_view method, std::string_view path, std::string_view body, std::string_view headers) {
  return fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}Content-Length: {}\r\n\r\n{}", method, path, headers,
                     body.size(), body);
}

std::string pixels_body(float value) { return nlohmann::json{{"pixels", std::vector<float>(784, value)}}.dump(); }

long unread_by_server(int port) {
  long unread = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream f(table);
    std::string line;
    std::getline(f, line);  // the column names
    while (std::getline(f, line)) {
      // "  sl  local_address rem_address   st tx_queue:rx_queue ...", addresses as HEX:PORT
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues;
      fields >> slot >> local >> remote >> state >> queues;
      const auto colon = local.rfind(':'), q = queues.find(':');
      if (colon == std::string::npos || q == std::string::npos) continue;
      if (std::stol(local.substr(colon + 1), nullptr, 16) == port)
        unread += std::stol(queues.substr(q + 1), nullptr, 16);
    }
  }
  return unread;
}

long proc_status_kb(pid_t pid, const char* field) {
  std::ifstream f(fmt::format("/proc/{}/status", pid));
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(f, line))
    if (line.starts_with(key)) return std::atol(line.c_str() + key.size());
  return -1;
}

void reset_peak_rss(pid_t pid) { std::ofstream(fmt::format("/proc/{}/clear_refs", pid)) << "5"; }

}  // namespace digitnet::test
