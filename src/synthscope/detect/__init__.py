"""AI-text detection: per-document style features, a calibrated score, and per-source estimates of the
synthetic fraction with confidence intervals."""
