"""The domain core: pure Python, no I/O, no framework imports."""
