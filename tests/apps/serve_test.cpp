// `digitnet serve` as a browser or a script talks to it: the page, good requests, every kind of
// bad request (each answered with a 4xx JSON error), and a burst of parallel requests.
#include <csignal>
#include <cstdio>
#include <future>

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace digitnet {
namespace {

class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const Dataset train = test::synthetic(300, 28, 28, 1), t = test::synthetic(50, 28, 28, 2);
    test::write_idx_dir(dir_->file("idx"), train, &t);
    ASSERT_EQ(test::run_cli("train --data " + dir_->file("idx") + " --layers 784,32,10 --epochs 2 --save " +
                            dir_->file("m.npz"))
                  .code,
              0);
    // Start the server on any free port and read which from its first line.
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      execl(DIGITNET_BINARY, "digitnet", "serve", dir_->file("m.npz").c_str(), "--port", "0", nullptr);
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[512] = {0};
    ASSERT_NE(fgets(line, sizeof line, f), nullptr);
    const std::string text = line;
    const auto colon = text.rfind(':');
    port_ = std::stoi(text.substr(colon + 1));
  }
  static void TearDownTestSuite() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    delete dir_;
  }
  static httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    return c;
  }
  static test::TempDir* dir_;
  static pid_t pid_;
  static int port_;
};
test::TempDir* Serve::dir_ = nullptr;
pid_t Serve::pid_ = 0;
int Serve::port_ = 0;

TEST_F(Serve, PageAndModelInfo) {
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
  std::vector<float> pixels(784, 0.0f);
  for (int y = 4; y < 24; ++y) pixels[y * 28 + 14] = 1.0f;
  auto r = c.Post("/api/predict", nlohmann::json{{"pixels", pixels}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["probabilities"].size(), 10u);
  double sum = 0;
  for (double p : j["probabilities"]) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_GE(j["label"].get<int>(), 0);

  std::vector<std::uint8_t> gray(100 * 100, 255);
  for (int y = 10; y < 90; ++y) gray[y * 100 + 50] = gray[y * 100 + 51] = 0;
  const Bytes png = test::png(gray, 100, 100);
  auto p = c.Post("/api/predict", std::string(png.begin(), png.end()), "image/png");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->status, 200) << p->body;
  EXPECT_EQ(nlohmann::json::parse(p->body)["input"].size(), 784u);
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
  expect_error(c.Post("/api/predict", "hello", "text/plain"), 415, "image/png");
  expect_error(c.Post("/api/predict", "not a png at all", "image/png"), 400, "not a readable");
  expect_error(c.Post("/api/predict", std::string(10 << 20, 'x'), "image/png"), 413, "too large");
  expect_error(c.Get("/api/nothing"), 404, "not found");
}

TEST_F(Serve, BurstOfParallelRequests) {
  std::vector<std::future<int>> answers;
  for (int i = 0; i < 64; ++i)
    answers.push_back(std::async(std::launch::async, [i] {
      auto c = client();
      std::vector<float> pixels(784, 0.0f);
      pixels[(i * 37) % 784] = 1.0f;
      auto r = c.Post("/api/predict", nlohmann::json{{"pixels", pixels}}.dump(), "application/json");
      if (!r) return -100 - static_cast<int>(r.error());
      if (r->status != 200) return -r->status;
      return nlohmann::json::parse(r->body)["label"].get<int>();
    }));
  for (auto& a : answers) EXPECT_GE(a.get(), 0);
  auto c = client();
  EXPECT_TRUE(c.Get("/api/model"));  // still serving
}

}  // namespace
}  // namespace digitnet
