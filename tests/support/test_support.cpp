#include "test_support.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

extern char** environ;

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include "digitnet/core/rng.hpp"
#include "digitnet/data/idx.hpp"
#include "digitnet/data/image.hpp"
#include "digitnet/data/npz.hpp"

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

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

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

void write_npm_package(const std::string& path, const Dataset& d) {
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  archive_write_open_filename(a, path.c_str());
  for (int digit = 0; digit < 10; ++digit) {
    std::string json = "{ \"data\": [";
    bool first = true;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (d.labels[i] != digit) continue;
      for (int f = 0; f < d.features(); ++f) {
        json += fmt::format("{}{}", first ? "" : ",", std::round(d.image(i)[f] / 255.0 * 1000) / 1000);
        first = false;
      }
    }
    json += "] }";
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, fmt::format("package/src/digits/{}.json", digit).c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(json.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, json.data(), json.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

namespace {

std::uint32_t get32(const Bytes& b, std::size_t at) {
  return b[at] | (std::uint32_t(b[at + 1]) << 8) | (std::uint32_t(b[at + 2]) << 16) | (std::uint32_t(b[at + 3]) << 24);
}
std::uint16_t get16(const Bytes& b, std::size_t at) { return static_cast<std::uint16_t>(b[at] | (b[at + 1] << 8)); }
void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Offsets of the member's local header (PK 3 4) and central directory entry (PK 1 2).
std::pair<std::size_t, std::size_t> member_headers(const Bytes& zip, const std::string& name) {
  constexpr std::size_t kNone = std::size_t(-1);  // the first member's local header is at 0
  std::size_t local = kNone, central = kNone;
  for (std::size_t i = 0; i + 46 + name.size() <= zip.size(); ++i) {
    if (zip[i] != 'P' || zip[i + 1] != 'K') continue;
    if (zip[i + 2] == 3 && zip[i + 3] == 4 && get16(zip, i + 26) == name.size() &&
        std::equal(name.begin(), name.end(), zip.begin() + static_cast<std::ptrdiff_t>(i + 30)))
      local = i;
    if (zip[i + 2] == 1 && zip[i + 3] == 2 && get16(zip, i + 28) == name.size() &&
        std::equal(name.begin(), name.end(), zip.begin() + static_cast<std::ptrdiff_t>(i + 46)))
      central = i;
  }
  if (local == kNone || central == kNone) throw std::runtime_error("no zip member " + name);
  return {local, central};
}

}  // namespace

std::size_t find_member(const Bytes& zip, const std::string& name) {
  const std::size_t local = member_headers(zip, name).first;
  return local + 30 + get16(zip, local + 26) + get16(zip, local + 28);
}

void shrink_member(Bytes& zip, const std::string& name, std::uint32_t by) {
  const auto [local, central] = member_headers(zip, name);
  for (const std::size_t at : {local + 18, local + 22, central + 20, central + 24}) put32(zip, at, get32(zip, at) - by);
}

void set_member_size(Bytes& zip, const std::string& name, std::uint32_t size) {
  const auto [local, central] = member_headers(zip, name);
  put32(zip, local + 22, size);
  put32(zip, central + 24, size);
}

ZipMember stored_member(const std::string& name, const Bytes& data) {
  return {name, data, 0, static_cast<std::uint32_t>(data.size()),
          static_cast<std::uint32_t>(crc32(crc32(0, nullptr, 0), data.data(), static_cast<uInt>(data.size())))};
}

Bytes make_zip(const std::vector<ZipMember>& members) {
  Bytes zip, central;
  const auto put = [](Bytes& b, std::uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  // The fields local and central headers share, from "version needed" to the name's length.
  const auto common = [&](Bytes& b, const ZipMember& m) {
    put(b, 20, 2);  // version needed: 2.0
    put(b, 0, 2);   // flags
    put(b, m.method, 2);
    put(b, 0, 2);     // time
    put(b, 0x21, 2);  // date: 1980-01-01
    put(b, m.crc, 4);
    put(b, static_cast<std::uint32_t>(m.data.size()), 4);
    put(b, m.size, 4);
    put(b, static_cast<std::uint32_t>(m.name.size()), 2);
    put(b, 0, 2);  // extra field length
  };
  for (const ZipMember& m : members) {
    const auto offset = static_cast<std::uint32_t>(zip.size());
    put(zip, 0x04034b50, 4);
    common(zip, m);
    zip.insert(zip.end(), m.name.begin(), m.name.end());
    zip.insert(zip.end(), m.data.begin(), m.data.end());
    put(central, 0x02014b50, 4);
    put(central, 20, 2);  // version made by
    common(central, m);
    put(central, 0, 2);  // comment length
    put(central, 0, 2);  // disk
    put(central, 0, 2);  // internal attributes
    put(central, 0, 4);  // external attributes
    put(central, offset, 4);
    central.insert(central.end(), m.name.begin(), m.name.end());
  }
  const auto central_at = static_cast<std::uint32_t>(zip.size());
  zip.insert(zip.end(), central.begin(), central.end());
  put(zip, 0x06054b50, 4);
  put(zip, 0, 4);  // this disk, the central directory's disk
  put(zip, static_cast<std::uint32_t>(members.size()), 2);
  put(zip, static_cast<std::uint32_t>(members.size()), 2);
  put(zip, static_cast<std::uint32_t>(central.size()), 4);
  put(zip, central_at, 4);
  put(zip, 0, 2);  // comment length
  return zip;
}

Bytes deflate_unfinished(std::span<const std::uint8_t> bytes) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&zs, bytes.size()) + 64);
  zs.next_in = const_cast<Bytef*>(bytes.data());
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_SYNC_FLUSH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

ZipMember hollow_member(const std::string& name, const std::vector<std::size_t>& shape) {
  Bytes npy = serialize_npy(NpyArray{"<f4", shape, {}});  // the header alone
  const std::size_t header = npy.size();
  std::size_t elements = 1;
  for (std::size_t d : shape) elements *= d;
  const std::size_t declared = header + 4 * elements;
  npy.resize(header + (64 << 10), 0);
  ZipMember m{name, deflate_unfinished(npy), 8, static_cast<std::uint32_t>(declared), 0};
  m.data.resize(std::max(m.data.size(), declared / 1000 + 1),
                0xFF);  // 0xFF: a final block of a type that does not exist
  return m;
}

int lines(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

RunResult run_cli(const std::string& args) { return run_cli_env("", args); }

RunResult run_cli_env(const std::string& env, const std::string& args) {
  TempDir tmp;
  const std::string out = tmp.file("out"), err = tmp.file("err");
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + std::string(DIGITNET_BINARY) + " " + args + " >" +
                          out + " 2>" + err + " </dev/null";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

namespace {

// Starts DIGITNET_BINARY with args (no shell), stdout and stderr to files.
int spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& out,
          const std::string& err) {
  std::vector<std::string> argv{DIGITNET_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargs, cenv;
  for (auto& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  envs.insert(envs.end(), env.begin(), env.end());  // later entries win (glibc's getenv finds the first...)
  std::reverse(envs.begin(), envs.end());           // ...so the added ones go first
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cargs[0], &actions, nullptr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

}  // namespace

RunResult run_args(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  TempDir tmp;
  const auto start = std::chrono::steady_clock::now();
  const int pid = spawn(args, env, tmp.file("out"), tmp.file("err"));
  RunResult r;
  if (pid < 0) return r.code = 127, r;
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.code = exit_code(status);
  r.max_rss_mb = usage.ru_maxrss / 1024.0;
  r.out = read_text(tmp.file("out"));
  r.err = read_text(tmp.file("err"));
  return r;
}

Background::Background(const std::vector<std::string>& args, const std::vector<std::string>& env)
    : pid_(spawn(args, env, dir_.file("out"), dir_.file("err"))) {}

Background::~Background() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void Background::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

int Background::wait() {
  if (pid_ > 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    code_ = exit_code(status);
  }
  return code_;
}

bool Background::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
  pid_ = -1;
  code_ = exit_code(status);
  return false;
}

std::string Background::err() const { return read_text(dir_.file("err")); }
std::string Background::out() const { return read_text(dir_.file("out")); }

bool Background::wait_for_output(const std::string& text, double seconds) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (out().find(text) != std::string::npos) return true;
    ::usleep(5000);
  }
  return false;
}

}  // namespace digitnet::test
