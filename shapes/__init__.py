"""LoadTestShape classes driven by stage plans (scenario files or options); bases are abstract."""
