"""Entry point: ``python -m ics_sim.calibration`` runs :func:`ics_sim.analysis.calibration.main`."""

if __name__ == "__main__":
    from ics_sim.analysis.calibration import main

    raise SystemExit(main())
