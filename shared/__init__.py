"""Everything that touches the outside world (storage, Azure, webhooks), behind small interfaces."""
