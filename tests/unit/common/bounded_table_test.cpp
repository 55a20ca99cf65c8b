#include "common/bounded_table.h"

#include <gtest/gtest.h>

namespace flightwall {
namespace {

struct IntHash {
  std::size_t operator()(int k) const { return static_cast<std::size_t>(k) * 2654435761u; }
};
using Table = BoundedTable<int, int, IntHash>;

TEST(BoundedTableTest, InsertFindErase) {
  Table t(4);
  auto r = t.FindOrInsert(7);
  ASSERT_TRUE(r.inserted);
  *r.value = 70;
  EXPECT_EQ(*t.Find(7), 70);
  EXPECT_FALSE(t.FindOrInsert(7).inserted);
  EXPECT_TRUE(t.Erase(7));
  EXPECT_EQ(t.Find(7), nullptr);
  EXPECT_EQ(t.Size(), 0u);
}

TEST(BoundedTableTest, NeverGrowsAndEvictsLeastRecentlyUsed) {
  Table t(3);
  for (int k = 1; k <= 3; ++k) *t.FindOrInsert(k).value = k * 10;
  t.Find(1);  // 2 is now the LRU entry
  auto r = t.FindOrInsert(4);
  EXPECT_TRUE(r.evicted);
  EXPECT_EQ(r.evicted_key, 2);
  EXPECT_EQ(r.evicted_value, 20);
  EXPECT_EQ(t.Size(), 3u);
  EXPECT_EQ(t.Find(2), nullptr);
  EXPECT_NE(t.Find(1), nullptr);
  for (int k = 100; k < 1100; ++k) t.FindOrInsert(k);
  EXPECT_EQ(t.Size(), 3u);
  EXPECT_EQ(t.Capacity(), 3u);
}

TEST(BoundedTableTest, CollidingKeysStayDistinct) {
  struct Zero {
    std::size_t operator()(int) const { return 0; }
  };
  BoundedTable<int, int, Zero> t(8);
  for (int k = 0; k < 8; ++k) *t.FindOrInsert(k).value = k;
  EXPECT_TRUE(t.Erase(3));
  for (int k = 0; k < 8; ++k) {
    if (k == 3) {
      EXPECT_EQ(t.Find(k), nullptr);
    } else {
      ASSERT_NE(t.Find(k), nullptr);
      EXPECT_EQ(*t.Find(k), k);
    }
  }
  EXPECT_EQ(*t.OldestKey(), 0);
}

}  // namespace
}  // namespace flightwall
