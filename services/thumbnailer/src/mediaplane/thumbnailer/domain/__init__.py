"""Pure rules of the thumbnailer: sizes, limits, failure codes and the job decider. No I/O."""
