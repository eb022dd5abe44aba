#include "digitnet/data/file.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "digitnet/core/error.hpp"

namespace fs = std::filesystem;

namespace digitnet {
namespace {

std::string errno_text() { return std::strerror(errno); }

// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// What kind of thing is at path, following symlinks: 0 nothing, else st_mode's file type.
mode_t file_type(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & S_IFMT;
}

const char* type_name(mode_t type) {
  switch (type) {
    case S_IFDIR: return "a directory";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    default: return "not a regular file";
  }
}

// The file a write to `path` replaces: path itself, or what a symlink at path points to
// (followed to the end; a dangling link's target is created). Refuses what is not a file.
std::string write_target(const std::string& path, const std::string& what) {
  if (path.empty()) throw Error(fmt::format("{}: the file name is empty", what));
  std::string target = path;
  std::error_code ec;
  for (int hops = 0; fs::is_symlink(target, ec); ++hops) {
    if (hops == 40) throw Error(fmt::format("{}: too many levels of symbolic links", path));
    const fs::path link = fs::read_symlink(target, ec);
    if (ec) throw Error(fmt::format("{}: cannot read the link ({})", path, ec.message()));
    target = (link.is_absolute() ? link : fs::path(target).parent_path() / link).string();
  }
  const mode_t type = file_type(target);
  if (type != 0 && type != S_IFREG)
    throw Error(fmt::format("{}: is {}; {} writes regular files only", path, type_name(type), what));
  return target;
}

std::string directory_of(const std::string& path) {
  const fs::path dir = fs::path(path).parent_path();
  return dir.empty() ? "." : dir.string();
}

void fsync_directory(const std::string& dir) {
  const Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.fd >= 0) ::fsync(fd.fd);  // best effort: some file systems refuse fsync on a directory
}

std::atomic<unsigned> temp_counter{0};

}  // namespace

namespace {

// FIFOs and pipes (a named pipe, `<(command)`) are streams: read while a writer holds them open,
// for at most kStreamLimit bytes, with at most kStreamSilence between two pieces, so that a
// writer that never writes, or never stops, cannot hold the reader or its memory for ever.
constexpr std::size_t kStreamLimit = std::size_t(1) << 30;
constexpr int kStreamSilenceSeconds = 30;

Bytes read_stream(int fd, const std::string& path) {
  Bytes bytes;
  std::uint8_t chunk[1 << 16];
  bool writer_seen = false;
  while (true) {
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got > 0) {
      writer_seen = true;
      if (static_cast<std::size_t>(got) > kStreamLimit - bytes.size())
        throw Error(fmt::format("{}: the FIFO holds more than {} bytes", path, kStreamLimit));
      bytes.insert(bytes.end(), chunk, chunk + got);
      continue;
    }
    if (got == 0) {
      // Nothing buffered and no writer: the end of the stream, or (first) a FIFO nobody writes to,
      // which a blocking open would have waited on for ever.
      if (!writer_seen && bytes.empty())
        throw Error(fmt::format("{}: is a FIFO with nothing to read and no writer", path));
      return bytes;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw Error(fmt::format("{}: read error ({})", path, errno_text()));
    writer_seen = true;  // EAGAIN: a writer holds it open but has not written yet
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, kStreamSilenceSeconds * 1000);
    if (ready < 0 && errno != EINTR) throw Error(fmt::format("{}: read error ({})", path, errno_text()));
    if (ready == 0)
      throw Error(fmt::format("{}: the FIFO's writer sent nothing for {} seconds", path, kStreamSilenceSeconds));
  }
}

}  // namespace

Bytes read_file(const std::string& path) {
  // Directories, devices and sockets are refused before they are opened (opening a device can
  // do something, and reading /dev/zero never ends).
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(fmt::format("{}: cannot open ({})", path, errno_text()));
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
    throw Error(fmt::format("{}: is {}, expected a file", path, type_name(st.st_mode & S_IFMT)));
  // O_NONBLOCK: a blocking open of a FIFO waits for a writer, for ever if none comes.
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.fd < 0) throw Error(fmt::format("{}: cannot open ({})", path, errno_text()));
  if (::fstat(fd.fd, &st) != 0) throw Error(fmt::format("{}: cannot read ({})", path, errno_text()));
  if (S_ISFIFO(st.st_mode)) return read_stream(fd.fd, path);
  if (!S_ISREG(st.st_mode))  // replaced between the two looks
    throw Error(fmt::format("{}: is {}, expected a file", path, type_name(st.st_mode & S_IFMT)));
  Bytes bytes;
  bytes.reserve(static_cast<std::size_t>(st.st_size));
  std::uint8_t chunk[1 << 16];
  while (true) {
    const ssize_t got = ::read(fd.fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(fmt::format("{}: read error ({})", path, errno_text()));
    if (got == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + got);
  }
  return bytes;
}

bool is_gzip(std::span<const std::uint8_t> bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

namespace {

bool all_zero(std::span<const std::uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

// Inflates until the data ends or `limit` bytes are out; `error_past` says what happens when
// there is more: an error (gunzip), or just stopping (gunzip_prefix). A gzip file may hold
// several members one after another (what `cat a.gz b.gz > c.gz` makes): each is inflated in
// turn, within the one limit. Zero bytes after the last member are padding (gzip ignores them
// too); anything else there is refused.
Bytes inflate_up_to(std::span<const std::uint8_t> bytes, const std::string& what, std::size_t limit, bool error_past) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw Error(what + ": cannot start the gzip decoder");
  zs.next_in = const_cast<Bytef*>(bytes.data());
  zs.avail_in = static_cast<uInt>(bytes.size());
  Bytes out;
  std::uint8_t chunk[1 << 16];
  const auto fail = [&](const std::string& message) {
    inflateEnd(&zs);
    throw Error(fmt::format("{}: {}", what, message));
  };
  while (true) {
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) fail("corrupt or truncated gzip data");
    const std::size_t got = sizeof chunk - zs.avail_out;
    if (out.size() + got > limit) {
      if (error_past) fail(fmt::format("gzip data inflates to more than the {} bytes it can hold", limit));
      out.insert(out.end(), chunk, chunk + (limit - out.size()));
      break;
    }
    out.insert(out.end(), chunk, chunk + got);
    if (rc == Z_STREAM_END) {
      const std::span<const std::uint8_t> rest(zs.next_in, zs.avail_in);
      if (all_zero(rest)) break;
      if (!is_gzip(rest)) fail(fmt::format("{} bytes after the end of the gzip data are not gzip", rest.size()));
      if (inflateReset(&zs) != Z_OK) fail("cannot restart the gzip decoder");
      continue;
    }
    if (zs.avail_in == 0 && zs.avail_out != 0) fail("truncated gzip data");
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace

Bytes gunzip(std::span<const std::uint8_t> bytes, const std::string& what, std::size_t max_out) {
  return inflate_up_to(bytes, what, max_out, /*error_past=*/true);
}

Bytes gunzip_prefix(std::span<const std::uint8_t> bytes, const std::string& what, std::size_t n) {
  return inflate_up_to(bytes, what, n, /*error_past=*/false);
}

std::size_t plausible_inflated_size(std::size_t compressed) { return 64 * compressed + (std::size_t(1) << 20); }

Bytes read_maybe_gzipped(const std::string& path) {
  Bytes bytes = read_file(path);
  if (!is_gzip(bytes)) return bytes;
  return gunzip(bytes, path, plausible_inflated_size(bytes.size()));
}

std::vector<std::string> stale_temp_files(const std::string& target) {
  std::vector<std::string> stale;
  const std::string prefix = fs::path(target).filename().string() + ".tmp-";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory_of(target), ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    int pid = 0;  // "<target>.tmp-<pid>.<n>"
    const char* begin = name.data() + prefix.size();
    const auto [end, err] = std::from_chars(begin, name.data() + name.size(), pid);
    if (err != std::errc() || end == begin || *end != '.' || pid <= 0) continue;
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(entry.path().string());
  }
  return stale;
}

void remove_stale_temp_files(const std::string& target) {
  std::error_code ec;
  for (const auto& old : stale_temp_files(target)) fs::remove(old, ec);
}

TempFile::TempFile(const std::string& path) : target_(write_target(path, "writing")) {
  remove_stale_temp_files(target_);
  temp_ = fmt::format("{}.tmp-{}.{}", target_, ::getpid(), temp_counter.fetch_add(1));
}

TempFile::~TempFile() {
  if (!committed_) ::unlink(temp_.c_str());
}

void TempFile::commit() {
  const auto fail = [&](const std::string& why) {
    ::unlink(temp_.c_str());
    committed_ = true;  // nothing left to remove
    throw Error(fmt::format("{}: cannot write ({})", target_, why));
  };
  {
    const Fd fd(::open(temp_.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0 || ::fsync(fd.fd) != 0) fail(errno_text());
  }
  // The target may have become a directory or a device since the temp file was made.
  const mode_t type = file_type(target_);
  if (type != 0 && type != S_IFREG) fail(fmt::format("it is now {}", type_name(type)));
  if (std::rename(temp_.c_str(), target_.c_str()) != 0) fail(errno_text());
  committed_ = true;
  fsync_directory(directory_of(target_));
}

void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes) {
  TempFile temp(path);
  {
    const Fd fd(::open(temp.name().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (fd.fd < 0) throw Error(fmt::format("{}: cannot write ({})", path, errno_text()));
    for (std::size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::write(fd.fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw Error(fmt::format("{}: cannot write ({})", path, n < 0 ? errno_text() : "no space"));
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.fd) != 0) throw Error(fmt::format("{}: cannot write ({})", path, errno_text()));
  }
  temp.commit();
}

void check_writable(const std::string& path, const std::string& what) {
  const std::string target = write_target(path, what);
  const std::string dir = directory_of(target);
  if (file_type(dir) != S_IFDIR) throw Error(fmt::format("{}: {}: the directory {} does not exist", what, path, dir));
  // Creating a file is the only sure test (permissions, read-only file systems, quotas).
  const std::string probe = fmt::format("{}.tmp-{}.{}", target, ::getpid(), temp_counter.fetch_add(1));
  const Fd fd(::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.fd < 0) throw Error(fmt::format("{}: {}: cannot write in {} ({})", what, path, dir, errno_text()));
  ::unlink(probe.c_str());
}

}  // namespace digitnet
