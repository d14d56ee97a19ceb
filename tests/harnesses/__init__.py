"""The local fake platforms the adapter tests post to, and each adapter's harness for the
contract suite (bot.testing.contract): importable by the contract suite and the benchmarks
without importing a test module."""
