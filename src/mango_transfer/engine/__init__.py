"""The transfer engine: pure decisions, options, and (later) the async transfer loop."""
