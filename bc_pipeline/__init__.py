from bc_pipeline.malloc_settings import configure_malloc

# Every process that runs the pipeline imports this package before it starts its threads, so the settings hold for all
# its allocations and none of its threads gets an arena of its own beyond the cap.
configure_malloc()
