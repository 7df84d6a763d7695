"""MLflow's web UI, served by ``storekit ui``, in Debian's headless Chromium."""
