"""What happens around a run, apart from the engine and the screens: before it
(``launch``: the target, the embedded demo, the checks that it answers), during it
without a dashboard (``headless``: progress lines, signals), and after it
(``outputs``: reports, comparison, baselines and the exit code; ``gates``:
thresholds and regression gates)."""
