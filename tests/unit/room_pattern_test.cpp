#include "common/auth/pattern_set.hpp"
#include "common/auth/room_pattern.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace switchboard::auth {
namespace {

bool matches(std::string_view pattern, std::string_view room) { return room_pattern(pattern).matches(room); }

// The definition, by dynamic programming over every split: slow, obviously
// right, and what the compiled matcher is checked against.
bool reference_match(std::string_view pattern, std::string_view room) {
  // at[j]: pattern[0, i) matches room[0, j).
  std::vector<bool> at(room.size() + 1, false);
  at[0] = true;
  for (char p : pattern) {
    std::vector<bool> next(room.size() + 1, false);
    for (std::size_t j = 0; j <= room.size(); ++j) {
      if (p == '*') next[j] = at[j] || (j > 0 && next[j - 1]);
      else next[j] = j > 0 && at[j - 1] && room[j - 1] == p;
    }
    at = std::move(next);
  }
  return at[room.size()];
}

// Every string of up to `length` characters from `alphabet`.
std::vector<std::string> all_strings(std::string_view alphabet, std::size_t length) {
  std::vector<std::string> out{""};
  std::size_t from = 0;
  for (std::size_t n = 1; n <= length; ++n) {
    std::size_t to = out.size();
    for (std::size_t i = from; i < to; ++i) {
      for (char c : alphabet) out.push_back(out[i] + c);
    }
    from = to;
  }
  return out;
}

TEST(RoomPattern, star_alone_matches_every_room) {
  for (auto room : {"a", "lobby", "chat:a:b", "*", "user:alice", "caf\xc3\xa9"}) EXPECT_TRUE(matches("*", room)) << room;
  EXPECT_TRUE(matches("***", "anything"));
  EXPECT_EQ(room_pattern("*").kind(), room_pattern::shape::match_all);
  EXPECT_EQ(room_pattern("**").kind(), room_pattern::shape::match_all);
}

TEST(RoomPattern, trailing_star_is_a_prefix) {
  EXPECT_TRUE(matches("chat:*", "chat:"));
  EXPECT_TRUE(matches("chat:*", "chat:a"));
  EXPECT_TRUE(matches("chat:*", "chat:a:b"));
  EXPECT_FALSE(matches("chat:*", "chat"));
  EXPECT_FALSE(matches("chat:*", "xchat:a"));
  EXPECT_FALSE(matches("chat:*", "Chat:a"));
  room_pattern prefix("chat:*");
  EXPECT_EQ(prefix.kind(), room_pattern::shape::prefix);
  EXPECT_EQ(prefix.literal(), "chat:");
  EXPECT_EQ(room_pattern("chat:**").kind(), room_pattern::shape::prefix);
}

TEST(RoomPattern, leading_star_is_a_suffix) {
  EXPECT_TRUE(matches("*:x", ":x"));
  EXPECT_TRUE(matches("*:x", "a:x"));
  EXPECT_TRUE(matches("*:x", "a:b:x"));
  EXPECT_FALSE(matches("*:x", "a:xy"));
  EXPECT_FALSE(matches("*:x", "x"));
  EXPECT_FALSE(matches("*:x", "a:X"));
}

TEST(RoomPattern, stars_between_pieces) {
  EXPECT_TRUE(matches("a*b*c", "abc"));
  EXPECT_TRUE(matches("a*b*c", "aXbYc"));
  EXPECT_TRUE(matches("a*b*c", "abbc"));
  EXPECT_TRUE(matches("a*b*c", "acbc"));
  EXPECT_TRUE(matches("a*b*c", "abcbc"));
  EXPECT_FALSE(matches("a*b*c", "ab"));
  EXPECT_FALSE(matches("a*b*c", "acb"));
  EXPECT_FALSE(matches("a*b*c", "bac"));
  EXPECT_FALSE(matches("a*b*c", "abcd"));
  EXPECT_EQ(room_pattern("a*b*c").kind(), room_pattern::shape::general);
}

TEST(RoomPattern, head_and_tail_do_not_overlap) {
  EXPECT_FALSE(matches("ab*ba", "aba"));
  EXPECT_TRUE(matches("ab*ba", "abba"));
  EXPECT_FALSE(matches("a*a", "a"));
  EXPECT_TRUE(matches("a*a", "aa"));
}

TEST(RoomPattern, without_a_star_only_the_name_itself) {
  EXPECT_TRUE(matches("lobby", "lobby"));
  EXPECT_FALSE(matches("lobby", "Lobby"));
  EXPECT_FALSE(matches("lobby", "lobby2"));
  EXPECT_FALSE(matches("lobby", "lobb"));
  EXPECT_EQ(room_pattern("lobby").kind(), room_pattern::shape::exact);
  EXPECT_EQ(room_pattern("lobby").literal(), "lobby");
}

TEST(RoomPattern, empty_pattern_matches_no_room) {
  for (auto room : {"a", "*", " "}) EXPECT_FALSE(matches("", room)) << room;
  EXPECT_FALSE(pattern_set({""}).matches("a"));
}

TEST(RoomPattern, utf8_rooms) {
  EXPECT_TRUE(matches("caf\xc3\xa9:*", "caf\xc3\xa9:1"));
  EXPECT_TRUE(matches("*\xc3\xa9", "caf\xc3\xa9"));
  EXPECT_TRUE(matches("\xe6\x97\xa5*\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"));
  EXPECT_TRUE(matches("\xe6\x97\xa5*\xe6\x9c\xac", "\xe6\x97\xa5-\xe6\x9c\xac"));
  EXPECT_FALSE(matches("caf\xc3\xa9", "cafe"));
  EXPECT_FALSE(matches("*\xc3\xa9", "cafe"));
}

TEST(RoomPattern, many_stars_stay_linear) {
  // A backtracking matcher takes exponential time on this; the pieces are
  // searched for once each here.
  std::string pattern;
  for (int i = 0; i < 40; ++i) pattern += "*a";
  pattern += "*b";
  std::string no(128, 'a');
  std::string yes(127, 'a');
  yes += 'b';
  EXPECT_FALSE(matches(pattern, no));
  EXPECT_TRUE(matches(pattern, yes));
  EXPECT_TRUE(matches("a*****b", "ab"));
  EXPECT_TRUE(matches("*a*b*c*", "xxaxxbxxcxx"));
  EXPECT_FALSE(matches("*a*b*c*", "xxcxxbxxaxx"));
}

TEST(RoomPattern, agrees_with_the_definition) {
  // Every pattern of up to 6 characters over {a, b, *} against every room of
  // up to 6 characters over {a, b}: 1,093 x 127 pairs.
  auto patterns = all_strings("ab*", 6);
  auto rooms = all_strings("ab", 6);
  int mismatches = 0;
  for (const auto& pattern : patterns) {
    room_pattern compiled(pattern);
    pattern_set one({pattern});
    for (const auto& room : rooms) {
      bool expected = reference_match(pattern, room);
      if (compiled.matches(room) != expected || (!room.empty() && one.matches(room) != expected)) {
        if (++mismatches < 10) ADD_FAILURE() << "pattern '" << pattern << "' room '" << room << "'";
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(RoomPatternSet, empty_matches_nothing) {
  pattern_set none;
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.matches("lobby"));
  EXPECT_TRUE(pattern_set(std::vector<std::string>{}).empty());
}

TEST(RoomPatternSet, each_shape_is_found) {
  pattern_set set({"lobby", "chat:*", "chat:deep:*", "*:news", "a*b*c", "lobby"});
  EXPECT_FALSE(set.empty());
  EXPECT_TRUE(set.matches("lobby"));
  EXPECT_TRUE(set.matches("chat:"));
  EXPECT_TRUE(set.matches("chat:deep:x"));
  EXPECT_TRUE(set.matches("sport:news"));
  EXPECT_TRUE(set.matches("aXbYc"));
  EXPECT_FALSE(set.matches("lobby2"));
  EXPECT_FALSE(set.matches("chat"));
  EXPECT_FALSE(set.matches("sport:news2"));
  EXPECT_FALSE(set.matches("Lobby"));
}

TEST(RoomPatternSet, overlapping_prefixes) {
  pattern_set set({"ab*", "a*", "abc*", "b:*", "b:c:*", "ca*"});
  for (auto room : {"a", "ab", "abcd", "ax", "b:", "b:c:d", "ca", "cab"}) EXPECT_TRUE(set.matches(room)) << room;
  for (auto room : {"b", "b;", "c", "cb", "B:x", "\x7f"}) EXPECT_FALSE(set.matches(room)) << room;
}

TEST(RoomPatternSet, sets_agree_with_the_definition) {
  // 2,000 sets of 1 to 6 patterns, picked by a fixed pseudo-random walk
  // through the patterns of up to 5 characters over {a, b, *}.
  auto patterns = all_strings("ab*", 5);
  auto rooms = all_strings("ab", 6);
  std::uint32_t state = 12345;
  auto next = [&state] { return state = state * 1103515245u + 12345u, state >> 8; };
  int mismatches = 0;
  for (int n = 0; n < 2000; ++n) {
    std::vector<std::string> chosen;
    for (std::uint32_t k = next() % 6 + 1; k > 0; --k) chosen.push_back(patterns[next() % patterns.size()]);
    pattern_set set(chosen);
    for (const auto& room : rooms) {
      bool expected = false;
      for (const auto& p : chosen) expected = expected || reference_match(p, room);
      if (set.matches(room) != expected && ++mismatches < 10) {
        std::string list;
        for (const auto& p : chosen) list += " '" + p + "'";
        ADD_FAILURE() << "patterns" << list << " room '" << room << "'";
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(RoomPatternSet, a_star_allows_every_room) {
  pattern_set set({"lobby", "*"});
  EXPECT_TRUE(set.matches("anything"));
  EXPECT_TRUE(set.matches("user:bob"));
}

// 50 patterns of every shape against 256 rooms, half of them matching: the
// size PROTOCOL.md allows a connection (256 rooms) and a generous token.
// No timing is asserted; the answers are checked against one pattern at a
// time.
TEST(RoomPatternSet, fifty_patterns_by_256_rooms) {
  std::vector<std::string> patterns;
  for (int i = 0; i < 20; ++i) patterns.push_back("team:" + std::to_string(i) + ":general");
  for (int i = 0; i < 20; ++i) patterns.push_back("chat:" + std::to_string(i) + ":*");
  for (int i = 0; i < 10; ++i) patterns.push_back("*:region" + std::to_string(i) + ":*:live");
  std::vector<std::string> rooms;
  for (int i = 0; i < 256; ++i) {
    switch (i % 4) {
      case 0: rooms.push_back("team:" + std::to_string(i % 40) + ":general"); break;
      case 1: rooms.push_back("chat:" + std::to_string(i % 40) + ":room" + std::to_string(i)); break;
      case 2: rooms.push_back("eu:region" + std::to_string(i % 20) + ":game" + std::to_string(i) + ":live"); break;
      default: rooms.push_back("private:" + std::to_string(i)); break;
    }
  }
  pattern_set set(patterns);
  std::vector<room_pattern> each(patterns.begin(), patterns.end());
  int matched = 0;
  for (int round = 0; round < 20; ++round) {
    for (const auto& room : rooms) {
      bool expected = false;
      for (const auto& p : each) expected = expected || p.matches(room);
      bool got = set.matches(room);
      EXPECT_EQ(got, expected) << room;
      if (round == 0 && got) ++matched;
    }
  }
  // Rooms numbered 0..19 of the first three kinds match, 20..39 do not.
  EXPECT_GT(matched, 64);
  EXPECT_LT(matched, 192);
}

}  // namespace
}  // namespace switchboard::auth
