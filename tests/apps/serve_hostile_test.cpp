// `digitnet serve` against clients that hold connections open, send too much, or send framing
// no honest client sends: it keeps answering others, answers each at once (413, 400, 411), and
// its memory stays near its baseline (VmRSS and the peak VmHWM from /proc).
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "serve_support.hpp"

namespace digitnet {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kJson = "Content-Type: application/json\r\n";

// One normal predict request on a new connection: its status and how long it took.
std::pair<int, double> timed_predict(int port) {
  const auto t0 = std::chrono::steady_clock::now();
  const int fd = test::connect_to(port);
  if (fd < 0) return {0, 0};
  test::send_all(fd, test::request("POST", "/api/predict", test::pixels_body(), kJson));
  const int status = test::read_reply(fd).status;
  close(fd);
  return {status, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()};
}

// Sends `head`, then up to `bytes` of filler in 64 KB pieces until the server stops taking
// them, then reads the reply.
test::RawReply flood(int port, const std::string& head, std::size_t bytes, const std::string& piece) {
  const int fd = test::connect_to(port);
  if (fd < 0) return {};
  test::send_all(fd, head);
  for (std::size_t sent = 0; sent < bytes; sent += piece.size())
    if (!test::send_all(fd, piece)) break;
  test::RawReply r = test::read_reply(fd);
  close(fd);
  return r;
}

TEST(ServeUnderAttack, AnswersWhileHalfOpenConnectionsAreHeld) {
  test::ServeProcess server;
  ASSERT_GT(server.port(), 0);
  // 200 connections: silent, half a header, or a body that stopped after 10 of 1000 bytes.
  std::vector<int> held;
  for (int i = 0; i < 200; ++i) {
    const int fd = test::connect_to(server.port());
    ASSERT_GE(fd, 0) << "connection " << i;
    if (i % 3 == 1) test::send_all(fd, "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Ty");
    if (i % 3 == 2)
      test::send_all(fd,
                     "POST /api/predict HTTP/1.1\r\nHost: x\r\n" + kJson + "Content-Length: 1000\r\n\r\n{\"pixels\"");
    held.push_back(fd);
  }
  for (int i = 0; i < 5; ++i) {
    const auto [status, ms] = timed_predict(server.port());
    EXPECT_EQ(status, 200);
    EXPECT_LT(ms, 2000.0) << "a normal request waited behind the held connections";
  }
  for (int fd : held) close(fd);
}

TEST(ServeUnderAttack, ClosesIdleConnectionsAfterTheTimeout) {
  test::ServeProcess server({"--idle-timeout", "1"});
  ASSERT_GT(server.port(), 0);
  const int silent = test::connect_to(server.port());
  const int half = test::connect_to(server.port());
  test::send_all(half, "GET / HTTP/1.1\r\nHo");
  const int kept = test::connect_to(server.port());  // one answered request, then nothing
  test::send_all(kept, test::request("GET", "/api/model", "", ""));
  EXPECT_EQ(test::read_reply(kept).status, 200);
  for (int fd : {silent, half, kept}) {
    EXPECT_TRUE(test::closed_by_server(fd, seconds(6)));
    close(fd);
  }
}

TEST(ServeUnderAttack, OversizedBodiesGet413BeforeTheyAreRead) {
  test::ServeProcess server({"--max-body", "1MB"});
  ASSERT_GT(server.port(), 0);
  const std::string chunk = "10000\r\n" + std::string(0x10000, '0') + "\r\n";  // 64 KB chunks
  const std::string filler(0x10000, '0');
  const std::string chunked_head =
      "POST /api/predict HTTP/1.1\r\nHost: x\r\n" + kJson + "Transfer-Encoding: chunked\r\n\r\n";
  // Once each first, so that the peak below measures the bodies, not code paths run the first time.
  EXPECT_EQ(flood(server.port(), chunked_head, 2 << 20, chunk).status, 413);
  EXPECT_EQ(timed_predict(server.port()).first, 200);
  const long base = test::proc_status_kb(server.pid(), "VmRSS");
  test::reset_peak_rss(server.pid());

  // Announced too large: refused from the headers.
  const auto announced =
      flood(server.port(), "POST /api/predict HTTP/1.1\r\nHost: x\r\n" + kJson + "Content-Length: 50000000\r\n\r\n", 0,
            filler);
  EXPECT_EQ(announced.status, 413) << announced.body;
  EXPECT_NE(announced.body.find("too large"), std::string::npos) << announced.body;
  // Chunked, 40 MB of it: refused once it passes the limit.
  for (int i = 0; i < 3; ++i) {
    const auto chunked = flood(server.port(), chunked_head, 40 << 20, chunk);
    EXPECT_EQ(chunked.status, 413) << chunked.head << chunked.body;
    EXPECT_TRUE(chunked.closes);
  }
  // No length at all (no Content-Length, not chunked), 20 MB following: refused from the headers.
  const auto unframed =
      flood(server.port(), "POST /api/predict HTTP/1.1\r\nHost: x\r\n" + kJson + "\r\n", 20 << 20, filler);
  EXPECT_EQ(unframed.status, 411) << unframed.body;
  EXPECT_TRUE(unframed.closes);

  const long peak = test::proc_status_kb(server.pid(), "VmHWM");
  EXPECT_LT(peak - base, (1024 + 3072) * test::kMemoryScale) << "kB over the baseline at the peak, 1 MB body limit";
  EXPECT_EQ(timed_predict(server.port()).first, 200);  // still serving
}

TEST(ServeUnderAttack, NestedJsonIsRefusedWithoutGrowingMemory) {
  test::ServeProcess server({"--max-body", "1MB"});
  ASSERT_GT(server.port(), 0);
  const std::string nested = "{\"pixels\": " + std::string(1000000, '[');
  const std::string req = test::request("POST", "/api/predict", nested, kJson);
  const auto send = [&] {
    const int fd = test::connect_to(server.port());
    test::send_all(fd, req);
    const test::RawReply r = test::read_reply(fd);
    close(fd);
    return r;
  };
  EXPECT_EQ(send().status, 400);
  const long base = test::proc_status_kb(server.pid(), "VmRSS");
  test::reset_peak_rss(server.pid());
  std::vector<std::future<test::RawReply>> replies;
  for (int i = 0; i < 8; ++i) replies.push_back(std::async(std::launch::async, send));
  for (auto& f : replies) {
    const test::RawReply r = f.get();
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("nested deeper than 32"), std::string::npos) << r.body;
  }
  // Each body is held while it is read (8 at once here); parsing it adds next to nothing
  // (a document tree took about 70 MB per 1 MB body).
  const long peak = test::proc_status_kb(server.pid(), "VmHWM");
  EXPECT_LT(peak - base, (8 * 1024 + 4096) * test::kMemoryScale) << "kB over the baseline at the peak";
}

// Framing that is wrong, or that two HTTP readers could take two ways, gets 400 at once and
// the connection closes; the server goes on serving.
TEST(ServeUnderAttack, MalformedFramingGets400AtOnce) {
  test::ServeProcess server;
  ASSERT_GT(server.port(), 0);
  const std::string head = "POST /api/predict HTTP/1.1\r\nHost: x\r\n" + kJson;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"negative Content-Length", head + "Content-Length: -1\r\n\r\n{}"},
      {"garbage Content-Length", head + "Content-Length: abc\r\n\r\n{}"},
      {"Content-Length with a tail", head + "Content-Length: 2x\r\n\r\n{}"},
      {"two Content-Lengths", head + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}"},
      {"Content-Length and chunked",
       head + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"},
      {"unknown Transfer-Encoding", head + "Transfer-Encoding: gzip\r\n\r\n{}"},
      {"chunk size not hex", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
      {"negative chunk size", head + "Transfer-Encoding: chunked\r\n\r\n-5\r\n{}\r\n0\r\n\r\n"},
      {"chunk without its CRLF", head + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n"},
  };
  for (const auto& [what, bytes] : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    const int fd = test::connect_to(server.port());
    test::send_all(fd, bytes);
    const test::RawReply r = test::read_reply(fd);
    EXPECT_EQ(r.status, 400) << what << ": " << r.head;
    EXPECT_TRUE(test::closed_by_server(fd, seconds(2))) << what;
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0) << what;
    close(fd);
  }
  // A chunk size past 64 bits is refused as too large (libmicrohttpd's word for it).
  const int fd = test::connect_to(server.port());
  test::send_all(fd, head + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n{}\r\n0\r\n\r\n");
  EXPECT_EQ(test::read_reply(fd).status, 413);
  close(fd);
  EXPECT_EQ(timed_predict(server.port()).first, 200);
}

// A request line that cannot be HTTP gets 400 at once, from its first bytes that cannot belong
// (before, libmicrohttpd waited for a line end: garbage without one, or a TLS handshake, held
// the connection until the idle timeout; with one, it closed without a word).
TEST(ServeUnderAttack, AMalformedRequestLineGets400AtOnce) {
  test::ServeProcess server;
  ASSERT_GT(server.port(), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"garbage", "garbage\r\n\r\n"},
      {"a word and a line end", "hello\n"},
      {"a TLS handshake", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)},
      {"bytes that begin with NUL", std::string("\0\x01\x02garbage", 10)},
      {"HTTP/0.9", "GET /\r\n"},
      {"a method with a control character", "G\x01T / HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"more after the version", "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n"},
  };
  for (const auto& [what, bytes] : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    const int fd = test::connect_to(server.port());
    ASSERT_GE(fd, 0) << what;
    test::send_all(fd, bytes);
    const test::RawReply r = test::read_reply(fd);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.status, 400) << what << ": " << r.head;
    EXPECT_NE(r.body.find("bad request line"), std::string::npos) << what << ": " << r.body;
    EXPECT_TRUE(r.closes) << what;
    EXPECT_TRUE(test::closed_by_server(fd, seconds(2))) << what;
    EXPECT_LT(s, 2.0) << what << ": the idle timeout is 10 s";
    close(fd);
  }
  EXPECT_EQ(timed_predict(server.port()).first, 200);
}

// At --max-connections, a new client is answered 503 (try again) at once and the connection
// closes (before, it waited unanswered in the kernel's queue for a free slot); once a held
// connection goes, a new one is served again.
TEST(ServeUnderAttack, PastTheConnectionLimitANewClientGets503AtOnce) {
  test::ServeProcess server({"--max-connections", "16"});
  ASSERT_GT(server.port(), 0);
  std::vector<int> held;
  for (int i = 0; i < 16; ++i) {  // half silent, half inside a request
    held.push_back(test::connect_to(server.port()));
    ASSERT_GE(held.back(), 0) << i;
    if (i % 2) test::send_all(held.back(), "GET /api/model HTTP/1.1\r\nHost: x\r\n");
  }
  std::this_thread::sleep_for(milliseconds(200));  // every one of them taken in
  for (int round = 0; round < 3; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    const int fd = test::connect_to(server.port(), seconds(5));
    ASSERT_GE(fd, 0);
    test::send_all(fd, test::request("POST", "/api/predict", test::pixels_body(), kJson));
    const test::RawReply r = test::read_reply(fd);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.status, 503) << r.head;
    EXPECT_NE(r.head.find("Retry-After: 1"), std::string::npos) << r.head;
    EXPECT_NE(r.body.find("--max-connections"), std::string::npos) << r.body;
    EXPECT_TRUE(test::closed_by_server(fd, seconds(2)));
    EXPECT_LT(ms, 1000.0) << "milliseconds to the 503";
    close(fd);
  }
  close(held.back());
  held.pop_back();
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {  // the server sees the close within moments
    std::this_thread::sleep_for(milliseconds(20));
    status = timed_predict(server.port()).first;
  }
  EXPECT_EQ(status, 200);
  for (int fd : held) close(fd);
}

// Bodies being received may hold 16 x --max-body in all: past that, a request gets 503 (try
// again) rather than the server growing; once they end, requests are taken again.
TEST(ServeUnderAttack, BodiesTogetherStayWithinTheBudget) {
  test::ServeProcess server({"--max-body", "1MB"});
  ASSERT_GT(server.port(), 0);
  const long base = test::proc_status_kb(server.pid(), "VmRSS");
  const std::string head = "POST /api/predict HTTP/1.1\r\nHost: x\r\n" + kJson + "Transfer-Encoding: chunked\r\n\r\n";
  const std::string chunk = "4000\r\n" + std::string(0x4000, '0') + "\r\n";  // 16 KB chunks
  std::vector<int> holding;
  for (int i = 0; i < 16; ++i) {  // each 1 MB less 32 KB, unfinished
    const int fd = test::connect_to(server.port());
    test::send_all(fd, head);
    for (int k = 0; k < 62; ++k) test::send_all(fd, chunk);
    holding.push_back(fd);
  }
  // Once the server has taken all that in, the budget is spent: a new body gets 503 (a probe
  // with no reply within 300 ms came too early, between the server's reads and its handler).
  for (int i = 0; i < 1000 && test::unread_by_server(server.port()) > 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  test::RawReply busy;
  for (int i = 0; i < 100 && busy.status != 503; ++i) {
    const int fd = test::connect_to(server.port(), milliseconds(300));
    test::send_all(fd, head);
    test::send_all(fd, chunk);
    busy = test::read_reply(fd);
    close(fd);
  }
  EXPECT_EQ(busy.status, 503) << busy.head << busy.body;
  EXPECT_NE(busy.head.find("Retry-After: 1"), std::string::npos) << busy.head;
  for (int h : holding) close(h);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(timed_predict(server.port()).first, 200);
  if (test::kSanitized) return;  // freed memory stays in AddressSanitizer's quarantine
  long after = 0;
  for (int i = 0; i < 30 && (after = test::proc_status_kb(server.pid(), "VmRSS") - base) >= 4096; ++i)
    std::this_thread::sleep_for(milliseconds(100));
  EXPECT_LT(after, 4096) << "kB over the baseline after";
}

}  // namespace
}  // namespace digitnet
