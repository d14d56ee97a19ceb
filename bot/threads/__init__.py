"""What a destination sends on a day: select, render, fit."""
