#include "digitnet/data/npz.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zip.h>
#include <zlib.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"

static_assert(std::endian::native == std::endian::little, "digitnet's npz code assumes a little-endian machine");

namespace digitnet {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMaxEntry = std::size_t(1) << 31;     // refuse absurd sizes before allocating
constexpr std::size_t kMaxPreamble = std::size_t(1) << 20;  // NumPy writes headers of under 10,000 bytes

std::size_t item_size(const std::string& descr) {
  if (descr.size() < 3) return 0;
  const std::string_view t(descr.data() + 1, descr.size() - 1);
  if (t == "f4" || t == "i4" || t == "u4") return 4;
  if (t == "f8" || t == "i8" || t == "u8") return 8;
  if (t == "u1" || t == "i1" || t == "b1") return 1;
  if (t == "f2" || t == "i2" || t == "u2") return 2;
  if (t[0] == 'U') {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(t.data() + 1, t.data() + t.size(), n);
    if (ec != std::errc() || end != t.data() + t.size() || n == 0 || n > (1u << 24)) return 0;
    return 4 * n;
  }
  return 0;
}

// Reads the value of 'key' in the header dict text.
std::string_view dict_value(std::string_view header, std::string_view key, const std::string& what) {
  for (const char q : {'\'', '"'}) {
    const std::string quoted = fmt::format("{}{}{}", q, key, q);
    auto pos = header.find(quoted);
    if (pos == std::string_view::npos) continue;
    pos = header.find(':', pos + quoted.size());
    if (pos == std::string_view::npos) break;
    std::string_view v = header.substr(pos + 1);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    return v;
  }
  throw Error(fmt::format("{}: .npy header has no '{}'", what, key));
}

void utf8_append(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<std::uint32_t> utf8_decode(const std::string& s) {
  std::vector<std::uint32_t> cps;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) throw Error("text is not valid UTF-8");
    std::uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    cps.push_back(cp);
    i += len;
  }
  return cps;
}

template <class T>
std::vector<std::uint8_t> raw_bytes(std::span<const T> values) {
  std::vector<std::uint8_t> out(values.size_bytes());
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

}  // namespace

std::size_t NpyArray::count() const {
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

bool NpyArray::is_numeric() const { return descr.size() >= 3 && descr[1] != 'U' && item_size(descr) != 0; }

std::vector<double> NpyArray::to_doubles() const {
  if (!is_numeric()) throw Error(fmt::format("array of type '{}' is not numeric", descr));
  const std::string_view t(descr.data() + 1, descr.size() - 1);
  std::vector<double> out(count());
  const auto read = [&]<class S>(S) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      S v;
      std::memcpy(&v, data.data() + i * sizeof(S), sizeof(S));
      out[i] = static_cast<double>(v);
    }
  };
  if (t == "f4") read(float{});
  else if (t == "f8") read(double{});
  else if (t == "i8") read(std::int64_t{});
  else if (t == "u8") read(std::uint64_t{});
  else if (t == "i4") read(std::int32_t{});
  else if (t == "u4") read(std::uint32_t{});
  else if (t == "i2") read(std::int16_t{});
  else if (t == "u2") read(std::uint16_t{});
  else if (t == "i1") read(std::int8_t{});
  else if (t == "u1" || t == "b1") read(std::uint8_t{});
  else throw Error(fmt::format("array of type '{}' is not supported", descr));
  return out;
}

std::vector<float> NpyArray::to_floats() const {
  const auto d = to_doubles();
  return std::vector<float>(d.begin(), d.end());
}

std::string NpyArray::to_string() const {
  if (descr.size() < 3 || descr[1] != 'U') throw Error(fmt::format("array of type '{}' is not text", descr));
  std::string out;
  for (std::size_t i = 0; i + 4 <= data.size(); i += 4) {
    std::uint32_t cp;
    std::memcpy(&cp, data.data() + i, 4);
    if (cp == 0) continue;  // NumPy pads with NULs
    if (cp > 0x10FFFF) throw Error("text array holds an invalid code point");
    utf8_append(out, cp);
  }
  return out;
}

NpyArray NpyArray::from_floats(std::span<const float> values, std::vector<std::size_t> shape) {
  return {"<f4", std::move(shape), raw_bytes(values)};
}

NpyArray NpyArray::from_doubles(std::span<const double> values, std::vector<std::size_t> shape) {
  return {"<f8", std::move(shape), raw_bytes(values)};
}

NpyArray NpyArray::from_string(const std::string& utf8) {
  auto cps = utf8_decode(utf8);
  if (cps.empty()) cps.push_back(0);
  return {fmt::format("<U{}", cps.size()), {}, raw_bytes(std::span<const std::uint32_t>(cps))};
}

namespace {

// How many bytes an .npy file's preamble (magic, version, header) takes, from its first 12
// bytes (or all of a shorter one): a reader knows how much to read before it reads the data.
std::size_t npy_preamble_size(std::span<const std::uint8_t> bytes, const std::string& what) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0)
    throw Error(fmt::format("{}: not a .npy array (wrong magic)", what));
  const int major = bytes[6];
  if (major == 1) return 10 + (bytes[8] | (std::size_t(bytes[9]) << 8));
  if (major != 2 && major != 3) throw Error(fmt::format("{}: .npy format version {} is not supported", what, major));
  if (bytes.size() < 12) throw Error(fmt::format("{}: truncated .npy header", what));
  return 12 +
         (bytes[8] | (std::size_t(bytes[9]) << 8) | (std::size_t(bytes[10]) << 16) | (std::size_t(bytes[11]) << 24));
}

// The header at the start of `bytes`, which must hold the whole preamble; data_at is where the
// data starts.
NpyHeader parse_npy_header(std::span<const std::uint8_t> bytes, const std::string& what, std::size_t& data_at) {
  data_at = npy_preamble_size(bytes, what);
  if (data_at > bytes.size()) throw Error(fmt::format("{}: truncated .npy header", what));
  const std::size_t offset = bytes[6] == 1 ? 10 : 12;
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + offset), data_at - offset);

  NpyHeader a;
  std::string_view v = dict_value(header, "descr", what);
  if (v.empty() || (v[0] != '\'' && v[0] != '"')) throw Error(fmt::format("{}: malformed .npy descr", what));
  const auto close = v.find(v[0], 1);
  if (close == std::string_view::npos) throw Error(fmt::format("{}: malformed .npy descr", what));
  a.descr = std::string(v.substr(1, close - 1));
  if (a.descr.size() >= 2 && a.descr[0] == '>' && a.descr.substr(1) != "u1" && a.descr.substr(1) != "i1")
    throw Error(fmt::format("{}: big-endian arrays ('{}') are not supported", what, a.descr));
  if (a.descr.size() >= 1 && a.descr[0] == '|' && a.descr.size() == 3 && (a.descr[2] == '1')) a.descr[0] = '<';
  const std::size_t isize = item_size(a.descr);
  if (isize == 0 || (a.descr[0] != '<' && a.descr[0] != '='))
    throw Error(fmt::format("{}: array type '{}' is not supported", what, a.descr));

  v = dict_value(header, "fortran_order", what);
  if (v.starts_with("True")) throw Error(fmt::format("{}: Fortran-ordered arrays are not supported", what));
  if (!v.starts_with("False")) throw Error(fmt::format("{}: malformed .npy fortran_order", what));

  v = dict_value(header, "shape", what);
  if (v.empty() || v[0] != '(') throw Error(fmt::format("{}: malformed .npy shape", what));
  const auto end = v.find(')');
  if (end == std::string_view::npos) throw Error(fmt::format("{}: malformed .npy shape", what));
  std::string_view dims = v.substr(1, end - 1);
  std::size_t total = isize;
  while (!dims.empty()) {
    while (!dims.empty() && (dims.front() == ' ' || dims.front() == ',')) dims.remove_prefix(1);
    if (dims.empty()) break;
    std::size_t n = 0;
    const auto [p, ec] = std::from_chars(dims.data(), dims.data() + dims.size(), n);
    if (ec != std::errc()) throw Error(fmt::format("{}: malformed .npy shape", what));
    dims.remove_prefix(static_cast<std::size_t>(p - dims.data()));
    a.shape.push_back(n);
    if (n != 0 && total > kMaxEntry / n) throw Error(fmt::format("{}: array is implausibly large", what));
    total *= n;
  }
  a.data_bytes = total;
  return a;
}

}  // namespace

bool NpyHeader::is_numeric() const { return descr.size() >= 3 && descr[1] != 'U' && item_size(descr) != 0; }

NpyArray parse_npy(std::span<const std::uint8_t> bytes, const std::string& what) {
  std::size_t data_at = 0;
  NpyHeader h = parse_npy_header(bytes, what, data_at);
  if (bytes.size() - data_at != h.data_bytes)
    throw Error(
        fmt::format("{}: array data is {} bytes, its header says {}", what, bytes.size() - data_at, h.data_bytes));
  return {std::move(h.descr), std::move(h.shape), {bytes.begin() + static_cast<std::ptrdiff_t>(data_at), bytes.end()}};
}

std::vector<std::uint8_t> serialize_npy(const NpyArray& a) {
  std::string shape = "(";
  for (std::size_t i = 0; i < a.shape.size(); ++i) shape += fmt::format("{}, ", a.shape[i]);
  if (a.shape.size() > 1) shape.resize(shape.size() - 2);
  else if (a.shape.size() == 1) shape.resize(shape.size() - 1);  // "(10,)"
  shape += ")";
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", a.descr, shape);
  // Pad so the data starts on a 64-byte boundary, as NumPy does.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::vector<std::uint8_t> out(kMagic, kMagic + 6);
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<std::uint8_t>(header.size() & 0xFF));
  out.push_back(static_cast<std::uint8_t>(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

namespace {

// Reads one member of an archive from the front, in pieces: its CRC-32 is summed as it goes, and
// its buffer grows with what arrives (never past the size its header declares, plus one byte to
// catch a member longer than that), so a header that lies costs nothing.
class MemberReader {
 public:
  MemberReader(zip_file_t* file, std::size_t declared, std::string what, std::string name)
      : file_(file), declared_(declared), what_(std::move(what)), name_(std::move(name)) {}

  // Reads until the buffer holds `n` bytes or the member ends.
  void read_to(std::size_t n) {
    std::uint8_t chunk[1 << 16];
    while (buf.size() < n) {
      const zip_int64_t r = zip_fread(file_, chunk, std::min(sizeof chunk, n - buf.size()));
      if (r < 0) {  // libzip checks the CRC-32 itself when it reaches the end of a member
        const std::string why = zip_file_strerror(file_);
        throw Error(
            fmt::format("{}: entry '{}' is corrupt ({})", what_, name_,
                        why.find("CRC") != std::string::npos ? "its CRC-32 does not match the archive's" : why));
      }
      if (r == 0) return;
      const auto got = static_cast<std::size_t>(r);
      if (buf.size() + got > buf.capacity())
        buf.reserve(std::min(declared_ + 1, std::max(2 * buf.capacity(), buf.size() + got)));
      buf.insert(buf.end(), chunk, chunk + got);
      crc_ = crc32(crc_, chunk, static_cast<uInt>(got));
    }
  }
  zip_uint32_t crc() const { return static_cast<zip_uint32_t>(crc_); }

  std::vector<std::uint8_t> buf;

 private:
  zip_file_t* file_;
  std::size_t declared_;
  std::string what_, name_;
  uLong crc_ = crc32(0, nullptr, 0);
};

}  // namespace

NpzArchive parse_npz(std::span<const std::uint8_t> bytes, const std::string& what, const NpzSelect& select) {
  zip_error_t zerr;
  zip_error_init(&zerr);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &zerr);
  if (!src) throw Error(fmt::format("{}: cannot read ({})", what, zip_error_strerror(&zerr)));
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
  if (!za) {
    zip_source_free(src);
    const std::string msg = zip_error_strerror(&zerr);
    zip_error_fini(&zerr);
    throw Error(fmt::format("{}: not a readable .npz file ({})", what, msg));
  }
  std::unique_ptr<zip_t, decltype(&zip_discard)> archive(za, &zip_discard);
  NpzArchive out;
  const zip_int64_t n = zip_get_num_entries(za, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    constexpr auto kNeeded = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_CRC;
    if (zip_stat_index(za, i, 0, &st) != 0 || (st.valid & kNeeded) != kNeeded)
      throw Error(fmt::format("{}: unreadable entry {}", what, i));
    std::string name = st.name;
    if (name.ends_with("/")) continue;
    // What the headers claim is bounded by the bytes there are: a stored entry is its own size,
    // and deflate cannot expand more than about 1,032 times.
    if (st.comp_size > bytes.size() || st.size > kMaxEntry || st.size > 1100 * st.comp_size + 1024)
      throw Error(fmt::format("{}: entry '{}' claims {} bytes, more than the file can hold", what, name, st.size));
    if (st.comp_method == ZIP_CM_STORE && st.size != st.comp_size)
      throw Error(fmt::format("{}: entry '{}' is stored in {} bytes but its header says it holds {}", what, name,
                              st.comp_size, st.size));
    zip_file_t* f = zip_fopen_index(za, i, 0);
    if (!f) throw Error(fmt::format("{}: cannot open entry '{}' ({})", what, name, zip_strerror(za)));
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(f, &zip_fclose);
    const std::string entry = name;
    if (name.ends_with(".npy")) name.resize(name.size() - 4);
    const std::string array_what = fmt::format("{}[{}]", what, name);
    MemberReader member(f, st.size, what, entry);
    // The .npy header first: the shape it declares must fill the member exactly, and the caller
    // may refuse it, before any of the data is inflated.
    member.read_to(std::min<std::size_t>(12, st.size));
    const std::size_t preamble = npy_preamble_size(member.buf, array_what);
    if (preamble > st.size) throw Error(fmt::format("{}: truncated .npy header", array_what));
    if (preamble > kMaxPreamble)  // read before the caller is asked, so bounded here
      throw Error(fmt::format("{}: its .npy header is {} bytes long, not an array's header", array_what, preamble));
    member.read_to(preamble);
    std::size_t data_at = 0;
    NpyHeader header = parse_npy_header(member.buf, array_what, data_at);
    if (header.data_bytes != st.size - data_at)
      throw Error(fmt::format("{}: its header declares {} bytes of data (shape ({})), the archive's entry holds {}",
                              array_what, header.data_bytes, fmt::join(header.shape, ", "), st.size - data_at));
    if (select && !select(name, header)) continue;
    member.read_to(st.size + 1);  // one byte more than declared: an entry longer than its header says is corrupt too
    const std::size_t got = member.buf.size();
    if (got != st.size)
      throw Error(fmt::format("{}: entry '{}' holds {} bytes, its header says {}", what, entry,
                              got > st.size ? "more than" : std::to_string(got), st.size));
    if (member.crc() != st.crc)
      throw Error(fmt::format("{}: entry '{}' is corrupt (CRC-32 {:08x}, the archive records {:08x})", what, entry,
                              member.crc(), st.crc));
    member.buf.erase(member.buf.begin(), member.buf.begin() + static_cast<std::ptrdiff_t>(data_at));
    out[name] = NpyArray{std::move(header.descr), std::move(header.shape), std::move(member.buf)};
  }
  return out;
}

NpzArchive read_npz(const std::string& path, const NpzSelect& select) {
  return parse_npz(read_file(path), path, select);
}

std::vector<std::uint8_t> serialize_npz(const NpzArchive& archive) {
  zip_error_t zerr;
  zip_error_init(&zerr);
  zip_source_t* src = zip_source_buffer_create(nullptr, 0, 0, &zerr);
  if (!src) throw Error("cannot build an .npz in memory");
  zip_source_keep(src);  // read the finished archive back out of it after zip_close
  std::unique_ptr<zip_source_t, decltype(&zip_source_free)> memory(src, &zip_source_free);
  zip_t* za = zip_open_from_source(src, ZIP_TRUNCATE, &zerr);
  if (!za) throw Error(fmt::format("cannot build an .npz in memory ({})", zip_error_strerror(&zerr)));
  // libzip reads the buffers at zip_close, so they must live until then.
  std::vector<std::vector<std::uint8_t>> buffers;
  buffers.reserve(archive.size());
  for (const auto& [name, array] : archive) {
    buffers.push_back(serialize_npy(array));
    zip_source_t* entry = zip_source_buffer(za, buffers.back().data(), buffers.back().size(), 0);
    const zip_int64_t idx = entry ? zip_file_add(za, (name + ".npy").c_str(), entry, ZIP_FL_OVERWRITE) : -1;
    if (idx < 0) {
      if (entry) zip_source_free(entry);
      zip_discard(za);
      throw Error(fmt::format("cannot add '{}' to an .npz", name));
    }
    zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0);
  }
  if (zip_close(za) != 0) {
    const std::string msg = zip_strerror(za);
    zip_discard(za);
    throw Error(fmt::format("cannot build an .npz ({})", msg));
  }
  zip_stat_t st;
  if (zip_source_stat(src, &st) != 0 || zip_source_open(src) != 0)
    throw Error("cannot read back an .npz built in memory");
  std::vector<std::uint8_t> out(st.size);
  const zip_int64_t got = zip_source_read(src, out.data(), out.size());
  zip_source_close(src);
  if (got < 0 || static_cast<zip_uint64_t>(got) != st.size) throw Error("cannot read back an .npz built in memory");
  return out;
}

void write_npz(const std::string& path, const NpzArchive& archive) { write_file_atomic(path, serialize_npz(archive)); }

}  // namespace digitnet
