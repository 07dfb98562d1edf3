"""Read runs, compute metrics from histograms, judge them by SLA tables; never imports Locust at run time."""
