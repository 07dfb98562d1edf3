"""The core every layer may import: errors, atomic files, timestamps, credential stripping,
Locust's histogram buckets and percentile rule, stage plans and addresses. No Locust, no pandas."""
