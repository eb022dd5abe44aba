#pragma once
// Protocol Buffers' wire format, the writing half: enough to write an ONNX file without
// libprotobuf. A message is its fields one after another, each a key (field number << 3 |
// wire type) then the value: a varint (type 0), 4 little-endian bytes (type 5), or a length
// and that many bytes (type 2: strings, bytes, nested messages, packed repeated numbers).
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace digitnet::proto {

class Writer {
 public:
  // int64 and int32 fields: a negative value is written as its 64-bit two's complement, as
  // protobuf does (ten bytes).
  void varint(int field, std::int64_t v) {
    key(field, 0);
    raw_varint(static_cast<std::uint64_t>(v));
  }
  void float32(int field, float v) {
    key(field, 5);
    const auto bits = std::bit_cast<std::uint32_t>(v);
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
  void bytes(int field, std::span<const std::uint8_t> b) {
    key(field, 2);
    raw_varint(b.size());
    out_.insert(out_.end(), b.begin(), b.end());
  }
  void string(int field, std::string_view s) {
    bytes(field, {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  }
  void message(int field, const Writer& m) { bytes(field, m.out_); }
  void packed_varints(int field, std::span<const std::int64_t> values) {
    Writer body;
    for (std::int64_t v : values) body.raw_varint(static_cast<std::uint64_t>(v));
    message(field, body);
  }
  const std::vector<std::uint8_t>& data() const { return out_; }

 private:
  void key(int field, int wire_type) {
    raw_varint(static_cast<std::uint64_t>(field) << 3 | static_cast<unsigned>(wire_type));
  }
  void raw_varint(std::uint64_t v) {  // seven bits a byte, low first; the top bit says more follow
    for (; v >= 0x80; v >>= 7) out_.push_back(static_cast<std::uint8_t>(v | 0x80));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  std::vector<std::uint8_t> out_;
};

}  // namespace digitnet::proto
