from bc_pipeline.malloc_settings import configure_malloc

# Every process that runs the pipeline imports this package before it starts its threads, so none of them gets an
# arena of its own beyond the cap.
configure_malloc()
