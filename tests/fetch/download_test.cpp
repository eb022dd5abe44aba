// Downloads against a local HTTP server on 127.0.0.1 (never the internet): a good file,
// a wrong checksum, a truncated body, a 404, a stalled server, a closed port.
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "digitnet/core/error.hpp"
#include "digitnet/fetch/download.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

const std::string kBody(5000, 'x');

class Download : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/good/data.bin", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kBody, "application/octet-stream");
    });
    server_.Get("/truncated/data.bin", [](const httplib::Request&, httplib::Response& res) {
      // Promises 5,000 bytes, sends 100, then drops the connection.
      res.set_content_provider(kBody.size(), "application/octet-stream",
                               [](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                 if (offset == 0) sink.write(kBody.data(), 100);
                                 return false;
                               });
    });
    server_.Get("/stalled/data.bin", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      res.set_content(kBody, "application/octet-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    file_.name = "data.bin";
    file_.md5 = digest({reinterpret_cast<const std::uint8_t*>(kBody.data()), kBody.size()}, "md5");
    options_.stall_timeout_s = 1;
    options_.connect_timeout_s = 2;
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& dir) const { return fmt::format("http://127.0.0.1:{}/{}/", port_, dir); }
  // Runs fetch_file and returns the error message ("" when it succeeded).
  std::string fetch(const std::vector<std::string>& urls, RemoteFile f) {
    try {
      fetch_file(urls, f, dir_.path.string(), options_);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  bool only_file_is(const std::string& name) const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path)) names.push_back(e.path().filename().string());
    return name.empty() ? names.empty() : names == std::vector<std::string>{name};
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  test::TempDir dir_;
  RemoteFile file_;
  FetchOptions options_;
};

TEST_F(Download, GoodFileIsVerifiedAndKept) {
  std::uint64_t last = 0;
  options_.progress = [&](const std::string&, std::uint64_t done, std::uint64_t) { last = done; };
  EXPECT_EQ(fetch({url("good")}, file_), "");
  EXPECT_TRUE(only_file_is("data.bin"));
  EXPECT_EQ(read_file(dir_.file("data.bin")).size(), kBody.size());
  EXPECT_EQ(last, kBody.size());
}

TEST_F(Download, WrongChecksumLeavesNothing) {
  RemoteFile f = file_;
  f.md5 = "00000000000000000000000000000000";
  const std::string msg = fetch({url("good")}, f);
  EXPECT_NE(msg.find("MD5"), std::string::npos) << msg;
  EXPECT_TRUE(only_file_is(""));
  f.md5.clear();
  f.sha256 = std::string(64, '0');
  EXPECT_NE(fetch({url("good")}, f).find("SHA-256"), std::string::npos);
  EXPECT_TRUE(only_file_is(""));
}

TEST_F(Download, TruncatedBodyLeavesNothing) {
  const std::string msg = fetch({url("truncated")}, file_);
  EXPECT_NE(msg.find(url("truncated")), std::string::npos) << msg;
  EXPECT_TRUE(only_file_is(""));
}

TEST_F(Download, NotFoundFallsBackToTheNextMirror) {
  EXPECT_NE(fetch({url("missing")}, file_).find("404"), std::string::npos);
  EXPECT_EQ(fetch({url("missing"), url("good")}, file_), "");
  EXPECT_TRUE(only_file_is("data.bin"));
}

TEST_F(Download, StalledServerTimesOut) {
  const auto start = std::chrono::steady_clock::now();
  const std::string msg = fetch({url("stalled")}, file_);
  EXPECT_FALSE(msg.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(only_file_is(""));
}

TEST_F(Download, EveryFailedSourceIsNamed) {
  const std::string msg = fetch({"http://127.0.0.1:1/a/", url("missing")}, file_);
  EXPECT_NE(msg.find("http://127.0.0.1:1/a/data.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find(url("missing") + "data.bin"), std::string::npos) << msg;
}

}  // namespace
}  // namespace digitnet
