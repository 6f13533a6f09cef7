from bc_pipeline.malloc_arenas import limit_malloc_arenas

# Every process that runs the pipeline imports this package before it starts its threads, so none of them gets an
# arena of its own beyond the cap.
limit_malloc_arenas()
