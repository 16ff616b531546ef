package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDialoguePageInABrowser: the opinion-groups page passes axe (WCAG 2.1
// A and AA) in both languages, and fits a 390 px wide phone screen.
func TestDialoguePageInABrowser(t *testing.T) {
	ctx, b := newBrowser(t)
	n, proc := seattleNode(t)
	b.base = n.url
	pub := session(t, ctx)
	b.page(pub, "/processes/"+proc+"/dialogue", "dialogue-sv")
	assert.Equal(t, "Opinionsgrupper", b.text(pub, "h1"))
	b.page(pub, "/processes/"+proc+"/dialogue?lang=en", "dialogue-en")
	assert.Equal(t, "Opinion groups", b.text(pub, "h1"))

	phone := session(t, ctx)
	require.NoError(t, chromedp.Do(phone, chromedp.EmulateViewport(390, 844)))
	b.page(phone, "/processes/"+proc+"/dialogue", "dialogue-390")
	// The statements table sits in its own scrolling region; the page
	// itself must not scroll sideways, and the map must fit.
	assert.LessOrEqual(t, eval[int](b, phone, `document.documentElement.scrollWidth`), 390)
	assert.LessOrEqual(t, eval[float64](b, phone, `document.querySelector('svg.opinion-map').getBoundingClientRect().right`), 390.0)
	require.NoError(t, chromedp.Do(phone, chromedp.Click(chromedp.CSS(`details summary`))))
	b.accessible(phone, "dialogue-390-details")
	assert.LessOrEqual(t, eval[int](b, phone, `document.documentElement.scrollWidth`), 390)
}
