// `digitnet serve` as a browser or a script talks to it: the page, good requests (answered as the
// model file answers them, however many threads serve), every kind of bad request (each
// answered with a 4xx JSON error), keep-alive connections, the flags, and stopping on a signal.
// serve_hostile_test.cpp has the clients that mean harm.
#include <algorithm>
#include <csignal>
#include <future>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "digitnet/data/model.hpp"
#include "serve_support.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new test::ServeProcess; }
  static void TearDownTestSuite() { delete server_; }
  static httplib::Client client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(10, 0);
    return c;
  }
  static test::ServeProcess* server_;
};
test::ServeProcess* Serve::server_ = nullptr;

std::vector<float> stroke(int i) {
  std::vector<float> pixels(784, 0.0f);
  for (int y = 4; y < 24; ++y) pixels[y * 28 + 8 + i % 12] = 1.0f;
  pixels[(i * 37) % 784] = 0.5f;
  return pixels;
}

TEST_F(Serve, PageAndModelInfo) {
  ASSERT_GT(server_->port(), 0) << server_->first_line();
  auto c = client();
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<canvas id=\"pad\""), std::string::npos);
  EXPECT_NE(page->body.find("/api/predict"), std::string::npos);
  auto info = c.Get("/api/model");
  ASSERT_TRUE(info);
  EXPECT_EQ(nlohmann::json::parse(info->body)["layers"], nlohmann::json({784, 32, 10}));
}

TEST_F(Serve, PredictsFromPixelsAndFromPng) {
  auto c = client();
  auto r = c.Post("/api/predict", nlohmann::json{{"pixels", stroke(6)}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["probabilities"].size(), 10u);
  double sum = 0;
  for (double p : j["probabilities"]) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_GE(j["label"].get<int>(), 0);
  EXPECT_EQ(j["input_shape"], nlohmann::json({28, 28}));

  std::vector<std::uint8_t> gray(100 * 100, 255);
  for (int y = 10; y < 90; ++y) gray[y * 100 + 50] = gray[y * 100 + 51] = 0;
  const Bytes png = test::png(gray, 100, 100);
  auto p = c.Post("/api/predict", std::string(png.begin(), png.end()), "image/png");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->status, 200) << p->body;
  EXPECT_EQ(nlohmann::json::parse(p->body)["input"].size(), 784u);
}

// Many requests at once, spread over the server's threads (each with its own copy of the
// network): every answer is bit for bit what the model file gives in this process.
TEST_F(Serve, ParallelRequestsGetTheModelFilesAnswers) {
  Model model = load_model(test::serve_model());
  std::vector<std::future<std::string>> answers;
  for (int i = 0; i < 64; ++i)
    answers.push_back(std::async(std::launch::async, [i] {
      auto c = client();
      auto r = c.Post("/api/predict", nlohmann::json{{"pixels", stroke(i)}}.dump(), "application/json");
      if (!r) return fmt::format("no answer ({})", httplib::to_string(r.error()));
      if (r->status != 200) return fmt::format("status {}: {}", r->status, r->body);
      return r->body;
    }));
  for (int i = 0; i < 64; ++i) {
    const std::string body = answers[i].get();
    const auto j = nlohmann::json::parse(body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << body;
    const std::vector<float> expected = predict_one(model, stroke(i));
    ASSERT_EQ(j["probabilities"].size(), expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k)
      EXPECT_EQ(j["probabilities"][k].get<float>(), expected[k]) << "request " << i << ", class " << k;
  }
  auto c = client();
  EXPECT_TRUE(c.Get("/api/model"));  // still serving
}

TEST_F(Serve, BadRequestsGetJsonErrors) {
  auto c = client();
  const auto expect_error = [&](const httplib::Result& r, int status, const std::string& needle) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    const auto j = nlohmann::json::parse(r->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r->body;
    EXPECT_NE(j.value("error", "").find(needle), std::string::npos) << r->body;
  };
  expect_error(c.Post("/api/predict", "{\"pixels\": [0.1", "application/json"), 400, "not valid JSON");
  expect_error(c.Post("/api/predict", "{\"pixels\": [0.1, 0.2]}", "application/json"), 400, "784");
  expect_error(c.Post("/api/predict", "{\"image\": []}", "application/json"), 400, "pixels");
  expect_error(
      c.Post("/api/predict", nlohmann::json{{"pixels", std::vector<double>(784, 7.0)}}.dump(), "application/json"), 400,
      "0..1");
  expect_error(c.Post("/api/predict", std::string(100000, '['), "application/json"), 400, "nested deeper than 32");
  expect_error(c.Post("/api/predict", "{\"pixels\": " + std::string(100000, '[') + "0", "application/json"), 400,
               "nested deeper than 32");
  expect_error(c.Post("/api/predict", "hello", "text/plain"), 415, "image/png");
  expect_error(c.Post("/api/predict", "not a png at all", "image/png"), 400, "not a readable");
  expect_error(c.Get("/api/nothing"), 404, "not found");
  expect_error(c.Get("/../../etc/passwd"), 404, "not found");
  expect_error(c.Get("/api/predict"), 405, "POST");
  expect_error(c.Post("/", "x", "text/plain"), 405, "GET");
  // Too large for the limit: answered from the headers, while the body is still being sent.
  const int fd = test::connect_to(server_->port());
  test::send_all(fd, test::request("POST", "/api/predict", std::string(10 << 20, 'x'), "Content-Type: image/png\r\n"));
  const test::RawReply big = test::read_reply(fd);
  close(fd);
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("too large: 10485760 bytes; the limit is 4194304 (--max-body)"), std::string::npos)
      << big.body;
}

// An image whose header claims more pixels than the server may decode at once gets 413 before
// any decoding (this one has no pixel data at all: decoding it would say so instead).
TEST_F(Serve, ImagesTooLargeToDecodeAreRefusedFromTheirHeader) {
  std::string png = "\x89PNG\r\n\x1a\n";
  png += std::string("\0\0\0\x0dIHDR", 8);         // the header chunk: 13 bytes
  for (const std::uint32_t side : {8000u, 8000u})  // width, height (big-endian)
    for (int shift = 24; shift >= 0; shift -= 8) png += static_cast<char>(side >> shift & 0xff);
  png += std::string("\x08\0\0\0\0\0\0\0", 9);  // 8-bit gray; the CRC is not checked
  auto c = client();
  auto r = c.Post("/api/predict", png, "image/png");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_NE(r->body.find("8000x8000"), std::string::npos) << r->body;
}

// An image of exactly the pixel count the server names as its limit (4,194,304 by default,
// 2048 x 2048) is decoded (before, its decoding shared one budget with the request bodies, its
// own body included, and got 503 every time); one pixel row more is 413.
TEST_F(Serve, AnImageOfExactlyThePixelLimitIsDecoded) {
  std::vector<std::uint8_t> gray(2048 * 2048, 255);
  for (int y = 300; y < 1700; ++y)
    for (int x = 900; x < 1100; ++x) gray[y * 2048 + x] = 0;
  const Bytes png = test::png(gray, 2048, 2048);
  auto c = client();
  auto r = c.Post("/api/predict", std::string(png.begin(), png.end()), "image/png");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  const Bytes over = test::png(std::vector<std::uint8_t>(2048 * 2049, 255), 2048, 2049);
  auto big = c.Post("/api/predict", std::string(over.begin(), over.end()), "image/png");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413) << big->body;
  EXPECT_NE(big->body.find("2048x2049; this server decodes up to 4194304 pixels"), std::string::npos) << big->body;
}

// RFC 9112, section 3.2: an HTTP/1.1 request without a Host header, or with two, is 400;
// HTTP/1.0 needs none.
TEST_F(Serve, AnHttp11RequestNeedsOneHostHeader) {
  const auto send = [&](const std::string& bytes) {
    const int fd = test::connect_to(server_->port());
    test::send_all(fd, bytes);
    const test::RawReply r = test::read_reply(fd);
    close(fd);
    return r;
  };
  const test::RawReply none = send("GET /api/model HTTP/1.1\r\n\r\n");
  EXPECT_EQ(none.status, 400) << none.head;
  EXPECT_NE(none.body.find("needs a Host header"), std::string::npos) << none.body;
  EXPECT_TRUE(none.closes);
  const test::RawReply two = send("GET /api/model HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  EXPECT_EQ(two.status, 400) << two.head;
  EXPECT_NE(two.body.find("more than one Host header"), std::string::npos) << two.body;
  const test::RawReply body = send(
      "POST /api/predict HTTP/1.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\n\r\n{}");
  EXPECT_EQ(body.status, 400) << body.head;
  EXPECT_EQ(send("GET /api/model HTTP/1.0\r\n\r\n").status, 200);
  EXPECT_EQ(send("GET /api/model HTTP/1.1\r\nHost: a\r\n\r\n").status, 200);
}

// Requests one after another on one kept-alive connection are each answered at once (without
// TCP_NODELAY each waited about 40 ms for the client's delayed ACK). Speed is measured by
// bench/serve_load.sh; this only catches a stall.
TEST_F(Serve, KeepAliveRequestsAreAnsweredPromptly) {
  const int fd = test::connect_to(server_->port());
  ASSERT_GE(fd, 0);
  const std::string req =
      test::request("POST", "/api/predict", test::pixels_body(0.25f), "Content-Type: application/json\r\n");
  std::vector<double> ms;
  for (int i = 0; i < 60; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(test::send_all(fd, req));
    const test::RawReply r = test::read_reply(fd);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_EQ(r.status, 200) << "request " << i << ": " << r.head;
    ASSERT_FALSE(r.closes) << r.head;
  }
  close(fd);
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  EXPECT_LT(ms[ms.size() / 2], 20.0) << "median milliseconds per request on a kept-alive connection";
}

TEST(ServeCommand, HelpNamesTheLimits) {
  const auto r = test::run_cli("serve --help");
  EXPECT_EQ(r.code, 0);
  for (const char* flag : {"--max-body", "--idle-timeout", "--max-connections", "--threads", "--host"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << " missing from:\n" << r.out;
}

TEST(ServeCommand, BadFlagsGetOneLine) {
  const auto small = test::run_cli("serve " + test::serve_model() + " --max-body 100");
  EXPECT_EQ(small.code, 2);
  EXPECT_NE(small.err.find("--max-body"), std::string::npos) << small.err;
  const auto idle = test::run_cli("serve " + test::serve_model() + " --idle-timeout 0");
  EXPECT_EQ(idle.code, 2);
  EXPECT_NE(idle.err.find("--idle-timeout"), std::string::npos) << idle.err;
  test::ServeProcess first;
  ASSERT_GT(first.port(), 0);
  const auto taken = test::run_cli("serve " + test::serve_model() + " --port " + std::to_string(first.port()));
  EXPECT_EQ(taken.code, 1);
  EXPECT_NE(taken.err.find("--port: cannot listen on 127.0.0.1:" + std::to_string(first.port())), std::string::npos)
      << taken.err;
  const auto host = test::run_cli("serve " + test::serve_model() + " --host no.such.host.invalid");
  EXPECT_EQ(host.code, 1);
  EXPECT_NE(host.err.find("--host"), std::string::npos) << host.err;
}

TEST(ServeCommand, ListeningBeyondThisMachinePrintsAWarning) {
  test::ServeProcess local;
  ASSERT_GT(local.port(), 0);
  EXPECT_EQ(local.err(), "");  // 127.0.0.1: no warning
  test::ServeProcess everywhere({"--host", "0.0.0.0"});
  ASSERT_GT(everywhere.port(), 0) << everywhere.err();
  const std::string warning = everywhere.err();
  EXPECT_TRUE(warning.starts_with("digitnet: warning: --host 0.0.0.0: listening on every network interface"))
      << warning;
  EXPECT_EQ(std::count(warning.begin(), warning.end(), '\n'), 1) << warning;
  // It serves on loopback too.
  httplib::Client c("127.0.0.1", everywhere.port());
  auto r = c.Get("/api/model");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// SIGTERM (or SIGINT) while a request is half sent: no new connections are taken, the request
// is answered in full, then the server exits 0.
TEST(ServeCommand, StopsOnSignalsAfterTheRequestsInFlight) {
  for (const int signal : {SIGTERM, SIGINT}) {
    test::ServeProcess server;
    ASSERT_GT(server.port(), 0);
    const std::string req =
        test::request("POST", "/api/predict", test::pixels_body(0.5f), "Content-Type: application/json\r\n");
    const int fd = test::connect_to(server.port());
    ASSERT_GE(fd, 0);
    const std::size_t half = req.size() / 2;
    ASSERT_TRUE(test::send_all(fd, std::string_view(req).substr(0, half)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the headers are in: a request in flight
    auto stopped = std::async(std::launch::async, [&] { return server.stop(signal); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const int late = test::connect_to(server.port(), std::chrono::seconds(2));
    EXPECT_LT(late, 0) << "a new connection was accepted after signal " << signal;
    if (late >= 0) close(late);
    ASSERT_TRUE(test::send_all(fd, std::string_view(req).substr(half)));
    const test::RawReply r = test::read_reply(fd);
    EXPECT_EQ(r.status, 200) << r.head << r.body;
    EXPECT_TRUE(r.closes) << r.head;
    close(fd);
    EXPECT_EQ(stopped.get(), 0) << "exit code after signal " << signal;
  }
}

TEST(ServeCommand, ASecondSignalEndsItAtOnce) {
  test::ServeProcess server;
  ASSERT_GT(server.port(), 0);
  const int fd = test::connect_to(server.port());  // a request that never finishes
  ASSERT_TRUE(test::send_all(fd,
                             "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             "Content-Length: 100\r\n\r\n{"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(server.pid(), SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(server.stop(SIGTERM, std::chrono::seconds(5)), -2);  // ended by the signal, not waiting 10 s
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  close(fd);
}

}  // namespace
}  // namespace digitnet
