"""The robustkeras course: otter-grader master notebooks, build and batch grading."""
