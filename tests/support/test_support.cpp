#include "test_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <sys/wait.h>
#include <zlib.h>

#include "digitnet/core/rng.hpp"
#include "digitnet/data/idx.hpp"
#include "digitnet/data/image.hpp"

namespace digitnet::test {

std::string reference_path(const std::string& name) { return std::string(DIGITNET_TESTS_DIR) + "/reference/" + name; }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "digitnet-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path = tmpl;
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

void write_bytes(const std::string& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

Bytes gzip(std::span<const std::uint8_t> bytes) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&zs, bytes.size()) + 32);
  zs.next_in = const_cast<Bytef*>(bytes.data());
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Bytes make_idx(const std::vector<std::uint32_t>& dims, std::span<const std::uint8_t> data) {
  return serialize_idx(dims, data);
}

Dataset synthetic(std::size_t n, int height, int width, std::uint64_t seed) {
  Dataset d;
  d.name = "synthetic";
  d.height = height;
  d.width = width;
  d.pixel_max = 255;
  const int F = height * width;
  Rng proto_rng(12345);  // the class patterns do not depend on the seed
  std::vector<std::vector<int>> protos(kClasses, std::vector<int>(F));
  for (auto& p : protos)
    for (auto& v : p) v = proto_rng.uniform() < 0.3 ? 200 : 20;
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const int label = static_cast<int>(i % kClasses);
    d.labels.push_back(static_cast<std::uint8_t>(label));
    for (int f = 0; f < F; ++f) {
      const int v = protos[label][f] + static_cast<int>(rng.normal() * 40);
      d.pixels.push_back(static_cast<std::uint8_t>(std::clamp(v, 0, 255)));
    }
  }
  return d;
}

void write_idx_dir(const std::string& dir, const Dataset& train, const Dataset* test, bool gz, const std::string& sep) {
  std::filesystem::create_directories(dir);
  const auto put = [&](const std::string& prefix, const Dataset& d) {
    const auto n = static_cast<std::uint32_t>(d.size());
    Bytes images = make_idx({n, std::uint32_t(d.height), std::uint32_t(d.width)}, d.pixels);
    Bytes labels = make_idx({n}, d.labels);
    const std::string ext = gz ? ".gz" : "";
    write_bytes(dir + "/" + prefix + "-images" + sep + "idx3-ubyte" + ext, gz ? gzip(images) : images);
    write_bytes(dir + "/" + prefix + "-labels" + sep + "idx1-ubyte" + ext, gz ? gzip(labels) : labels);
  };
  put("train", train);
  if (test) put("t10k", *test);
}

std::string to_kaggle_csv(const Dataset& d) {
  std::ostringstream s;
  s << "label";
  for (int f = 0; f < d.features(); ++f) s << ",pixel" << f;
  s << "\n";
  for (std::size_t i = 0; i < d.size(); ++i) {
    s << int(d.labels[i]);
    for (int f = 0; f < d.features(); ++f) s << "," << int(d.image(i)[f]);
    s << "\n";
  }
  return s.str();
}

double rel_error(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) return 1e300;
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

Bytes png(std::span<const std::uint8_t> gray, int width, int height) {
  return encode_png(gray.data(), width, height, 1);
}

RunResult run_cli(const std::string& args) { return run_cli_env("", args); }

RunResult run_cli_env(const std::string& env, const std::string& args) {
  TempDir tmp;
  const std::string out = tmp.file("out"), err = tmp.file("err");
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + std::string(DIGITNET_BINARY) + " " + args + " >" +
                          out + " 2>" + err + " </dev/null";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream o(out), e(err);
  std::stringstream so, se;
  so << o.rdbuf();
  se << e.rdbuf();
  r.out = so.str();
  r.err = se.str();
  return r;
}

}  // namespace digitnet::test
