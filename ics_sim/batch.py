"""Entry point: ``python -m ics_sim.batch`` runs :func:`ics_sim.runs.batch.main` (see that module)."""

if __name__ == "__main__":
    # through the importable module, so that worker processes find its functions by reference
    from ics_sim.runs.batch import main

    raise SystemExit(main())
