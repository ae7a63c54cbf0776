#pragma once
// Where a client's frames begin and end in the bytes read from its socket,
// followed as Beast reads them (coalescing_socket counts every read).
//
// Beast reads as much as its buffer takes, so after handing a session one
// message it may hold the next frames already. A session may stop reading
// and wait for the socket to turn readable (ws_session's idle wait) only
// when Beast holds nothing: the bytes read end at the end of the last
// message the session has taken. RFC 6455 framing, client to server; bytes
// that are not well-formed frames are Beast's to refuse, and whatever is
// counted here then no longer matters.

#include <array>
#include <cstddef>
#include <cstdint>

namespace switchboard {

class inbound_frames {
 public:
  // The next `n` bytes read from the socket.
  void feed(const char* data, std::size_t n);

  // Messages whose final frame has been read whole.
  std::uint64_t messages_ended() const noexcept { return messages_; }
  // The bytes read so far end exactly at the end of a message's final frame
  // (or nothing was read): no part of a later frame, control or data, is in.
  bool at_message_end() const noexcept { return at_message_end_; }

  // The size of the whole pong frame (masked, as from a client) that
  // `bytes` begins with, or 0 when it does not begin with one.
  static std::size_t whole_pong(const unsigned char* bytes, std::size_t n) noexcept;

  // The longest frame header: 2 bytes, a 64-bit length, a mask.
  static constexpr std::size_t max_header_bytes = 14;

 private:
  // The header gathered so far is complete: its size, or 0 while it is not.
  std::size_t header_size() const noexcept;
  void start_payload();
  void frame_done();

  std::uint64_t messages_ = 0;
  std::uint64_t payload_left_ = 0;  // of the frame being read
  std::array<unsigned char, max_header_bytes> header_{};
  std::uint8_t header_have_ = 0;  // bytes of the next frame's header gathered
  bool final_data_ = false;       // the frame being read ends a message
  bool at_message_end_ = true;
};

}  // namespace switchboard
