"""The partner portal: public application pages, the partner's pages, the manager's portal settings."""
